//! Everything the console says, in English and Spanish: the shell's words here, each
//! part's in a file of its own beside this one (`access.rs`, ...).

pub mod access;
pub mod account;
pub mod admin;
pub mod conversations;
pub mod people;
pub mod store;

pub struct Texts {
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub other_lang_name: &'static str,
    pub tagline: &'static str,
    pub form_expired: &'static str,
    pub something_failed: &'static str,
    pub home: &'static str,
    pub welcome: &'static str,
    pub customers: &'static str,
    pub navigation: &'static str,
    pub skip_to_content: &'static str,
    pub forbidden: &'static str,
    pub not_found: &'static str,
    /// Signing in and out, and the sources on the home page.
    pub access: access::Texts,
    /// The inbox and conversations.
    pub conversations: conversations::Texts,
    /// Customer search and the customer 360.
    pub people: people::Texts,
    pub account: account::Texts,
    pub admin: admin::Texts,
    /// The store's pages: the pickup desk, stock lookup.
    pub store: store::Texts,
    pub calls: Calls,
    pub shortcuts: Shortcuts,
}

/// The incoming call's pop-up.
pub struct Calls {
    pub incoming: &'static str,
    pub open_conversation: &'static str,
    pub customer: &'static str,
    pub dismiss: &'static str,
}

/// The keyboard shortcuts' list.
pub struct Shortcuts {
    pub title: &'static str,
    pub inbox: &'static str,
    pub customers: &'static str,
    pub search: &'static str,
    pub reply: &'static str,
    pub next_previous: &'static str,
    pub dismiss: &'static str,
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
    customers: "Customers",
    navigation: "Main",
    skip_to_content: "Skip to content",
    forbidden: "Your role does not allow this page.",
    not_found: "Not found.",
    access: access::EN,
    conversations: conversations::EN,
    people: people::EN,
    account: account::EN,
    admin: admin::EN,
    store: store::EN,
    calls: Calls {
        incoming: "Incoming call",
        open_conversation: "Open the conversation",
        customer: "Customer",
        dismiss: "Dismiss",
    },
    shortcuts: Shortcuts {
        title: "Keyboard shortcuts",
        inbox: "Go to the inbox",
        customers: "Go to customers",
        search: "Search or filter",
        reply: "Write a reply",
        next_previous: "Next or previous conversation in the list",
        dismiss: "Close the call pop-up",
    },
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
    customers: "Clientes",
    navigation: "Principal",
    skip_to_content: "Ir al contenido",
    forbidden: "Tu rol no permite ver esta página.",
    not_found: "No encontrado.",
    access: access::ES,
    conversations: conversations::ES,
    people: people::ES,
    account: account::ES,
    admin: admin::ES,
    store: store::ES,
    calls: Calls {
        incoming: "Llamada entrante",
        open_conversation: "Abrir la conversación",
        customer: "Cliente",
        dismiss: "Cerrar",
    },
    shortcuts: Shortcuts {
        title: "Atajos de teclado",
        inbox: "Ir a la bandeja",
        customers: "Ir a clientes",
        search: "Buscar o filtrar",
        reply: "Escribir una respuesta",
        next_previous: "Conversación siguiente o anterior de la lista",
        dismiss: "Cerrar el aviso de llamada",
    },
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
