use std::process::ExitCode;

fn main() -> ExitCode {
    hilo::cli::run()
}
