//! Everything the console says, in English and Spanish.

pub struct Texts {
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub other_lang_name: &'static str,
    pub tagline: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub wrong_credentials: &'static str,
    pub too_many_attempts: &'static str,
    pub form_expired: &'static str,
    pub something_failed: &'static str,
    pub home: &'static str,
    pub welcome: &'static str,
    pub sources: &'static str,
    pub no_sources: &'static str,
    pub name: &'static str,
    pub channel: &'static str,
    pub write_key: &'static str,
    pub created: &'static str,
}

pub static EN: Texts = Texts {
    lang: "en",
    other_lang: "es",
    other_lang_name: "Español",
    tagline: "One customer, one history, every channel.",
    sign_in: "Sign in",
    sign_out: "Sign out",
    email: "Email",
    password: "Password",
    wrong_credentials: "Wrong email or password.",
    too_many_attempts: "Too many failed attempts. Wait a few minutes and try again.",
    form_expired: "This form has expired. Reload the page and try again.",
    something_failed: "Something went wrong. Try again in a moment.",
    home: "Home",
    welcome: "Welcome to Hilo",
    sources: "Sources",
    no_sources: "No sources yet. Create one with POST /api/v1/sources.",
    name: "Name",
    channel: "Channel",
    write_key: "Write key",
    created: "Created",
};

pub static ES: Texts = Texts {
    lang: "es",
    other_lang: "en",
    other_lang_name: "English",
    tagline: "Un cliente, un historial, todos los canales.",
    sign_in: "Iniciar sesión",
    sign_out: "Cerrar sesión",
    email: "Correo electrónico",
    password: "Contraseña",
    wrong_credentials: "Correo o contraseña incorrectos.",
    too_many_attempts: "Demasiados intentos fallidos. Espera unos minutos y vuelve a intentarlo.",
    form_expired: "Este formulario ha caducado. Recarga la página y vuelve a intentarlo.",
    something_failed: "Algo ha fallado. Vuelve a intentarlo en un momento.",
    home: "Inicio",
    welcome: "Bienvenido a Hilo",
    sources: "Orígenes",
    no_sources: "Aún no hay orígenes. Crea uno con POST /api/v1/sources.",
    name: "Nombre",
    channel: "Canal",
    write_key: "Clave de escritura",
    created: "Creado",
};

impl Texts {
    /// The texts for a cookie value or an `Accept-Language` header: Spanish when the
    /// first preference is Spanish, English otherwise.
    pub fn for_preference(preference: &str) -> &'static Texts {
        let first = preference
            .split(',')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if first == "es" || first.starts_with("es-") || first.starts_with("es;") {
            &ES
        } else {
            &EN
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spanish_when_asked_first() {
        assert_eq!(Texts::for_preference("es-ES,es;q=0.9,en;q=0.8").lang, "es");
        assert_eq!(Texts::for_preference("es").lang, "es");
        assert_eq!(Texts::for_preference("en-US,es;q=0.5").lang, "en");
        assert_eq!(Texts::for_preference("").lang, "en");
    }
}
