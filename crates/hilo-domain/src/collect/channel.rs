//! The kinds of channel a source sends events from.

use std::fmt;
use std::str::FromStr;

use crate::Invalid;

/// Where a source's events come from. Stores, kiosks, the call center and voice
/// assistants use the same collection API as websites and apps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceChannel {
    Web,
    App,
    Pos,
    Kiosk,
    CallCenter,
    VoiceAssistant,
    Server,
}

impl SourceChannel {
    pub const ALL: [SourceChannel; 7] = [
        Self::Web,
        Self::App,
        Self::Pos,
        Self::Kiosk,
        Self::CallCenter,
        Self::VoiceAssistant,
        Self::Server,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::App => "app",
            Self::Pos => "pos",
            Self::Kiosk => "kiosk",
            Self::CallCenter => "call_center",
            Self::VoiceAssistant => "voice_assistant",
            Self::Server => "server",
        }
    }
}

impl fmt::Display for SourceChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for SourceChannel {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|channel| channel.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|c| c.as_str()).collect();
                Invalid::new("channel", format!("must be one of {}", names.join(", ")))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_parses_from_its_name() {
        for channel in SourceChannel::ALL {
            assert_eq!(channel.as_str().parse::<SourceChannel>(), Ok(channel));
        }
    }

    #[test]
    fn unknown_channel_names_the_choices() {
        let err = "fax".parse::<SourceChannel>().unwrap_err();
        assert_eq!(err.field, "channel");
        assert!(err.reason.contains("call_center"));
    }
}
