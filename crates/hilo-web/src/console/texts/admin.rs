//! What the administration pages say.

pub struct Texts {
    pub title: &'static str,
    pub users: &'static str,
    pub invite: &'static str,
    pub invite_hint: &'static str,
    pub name: &'static str,
    pub email: &'static str,
    pub role: &'static str,
    pub you: &'static str,
    pub change: &'static str,
    pub invited: &'static str,
    pub link_once: &'static str,
    pub not_invited: &'static str,
    pub last_admin: &'static str,
}

pub const EN: Texts = Texts {
    title: "Administration",
    users: "Users and roles",
    invite: "Invite",
    invite_hint: "The new user gets a link to choose their password; it works once, for a week.",
    name: "Name",
    email: "Email",
    role: "Role",
    you: "you",
    change: "Change",
    invited: "Invited",
    link_once: "Send them this link. It is shown only now.",
    not_invited: "Not invited:",
    last_admin: "The last admin cannot be given another role.",
};

pub const ES: Texts = Texts {
    title: "Administración",
    users: "Usuarios y roles",
    invite: "Invitar",
    invite_hint: "La persona invitada recibe un enlace para elegir su contraseña; sirve una vez, durante una semana.",
    name: "Nombre",
    email: "Correo electrónico",
    role: "Rol",
    you: "tú",
    change: "Cambiar",
    invited: "Invitación creada",
    link_once: "Envíale este enlace. Solo se muestra ahora.",
    not_invited: "No se ha invitado:",
    last_admin: "El último administrador no puede cambiar de rol.",
};
