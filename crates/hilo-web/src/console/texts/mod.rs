//! Everything the console says, in English and Spanish: the shell's words here, each
//! part's in a file of its own beside this one (`access.rs`, ...).

pub mod access;

pub struct Texts {
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub other_lang_name: &'static str,
    pub tagline: &'static str,
    pub form_expired: &'static str,
    pub something_failed: &'static str,
    pub home: &'static str,
    pub welcome: &'static str,
    /// Signing in and out, and the sources on the home page.
    pub access: access::Texts,
}

pub static EN: Texts = Texts {
    lang: "en",
    other_lang: "es",
    other_lang_name: "Español",
    tagline: "One customer, one history, every channel.",
    form_expired: "This form has expired. Reload the page and try again.",
    something_failed: "Something went wrong. Try again in a moment.",
    home: "Home",
    welcome: "Welcome to Hilo",
    access: access::EN,
};

pub static ES: Texts = Texts {
    lang: "es",
    other_lang: "en",
    other_lang_name: "English",
    tagline: "Un cliente, un historial, todos los canales.",
    form_expired: "Este formulario ha caducado. Recarga la página y vuelve a intentarlo.",
    something_failed: "Algo ha fallado. Vuelve a intentarlo en un momento.",
    home: "Inicio",
    welcome: "Bienvenido a Hilo",
    access: access::ES,
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
