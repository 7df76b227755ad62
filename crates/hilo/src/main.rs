use std::process::ExitCode;

// Requests allocate messages on the server's threads and the writer's flusher frees
// them: the system allocator spent a third of the request threads' time on that
// (locking and consolidating its arenas); mimalloc frees across threads cheaply.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    hilo::cli::run()
}
