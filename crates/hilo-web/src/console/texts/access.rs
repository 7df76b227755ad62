//! What the console says about signing in and out, and sources.

pub struct Texts {
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub wrong_credentials: &'static str,
    pub too_many_attempts: &'static str,
    pub sources: &'static str,
    pub no_sources: &'static str,
    pub name: &'static str,
    pub channel: &'static str,
    pub write_key: &'static str,
    pub created: &'static str,
}

pub const EN: Texts = Texts {
    sign_in: "Sign in",
    sign_out: "Sign out",
    email: "Email",
    password: "Password",
    wrong_credentials: "Wrong email or password.",
    too_many_attempts: "Too many failed attempts. Wait a few minutes and try again.",
    sources: "Sources",
    no_sources: "No sources yet. Create one with POST /api/v1/sources.",
    name: "Name",
    channel: "Channel",
    write_key: "Write key",
    created: "Created",
};

pub const ES: Texts = Texts {
    sign_in: "Iniciar sesión",
    sign_out: "Cerrar sesión",
    email: "Correo electrónico",
    password: "Contraseña",
    wrong_credentials: "Correo o contraseña incorrectos.",
    too_many_attempts: "Demasiados intentos fallidos. Espera unos minutos y vuelve a intentarlo.",
    sources: "Orígenes",
    no_sources: "Aún no hay orígenes. Crea uno con POST /api/v1/sources.",
    name: "Nombre",
    channel: "Canal",
    write_key: "Clave de escritura",
    created: "Creado",
};
