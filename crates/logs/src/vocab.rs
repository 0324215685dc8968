//! The closed vocabularies of api-v1: actions, clients and acquisition channels.

/// The actions the warehouse models. Any other `[a-z_]{1,32}` action is valid and kept raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    PageView,
    Signup,
    Login,
    PhotoView,
    PhotoLike,
    PhotoFavourite,
    PhotoComment,
    Follow,
    PhotoUpload,
    MarketplaceSubmit,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Self::PageView,
        Self::Signup,
        Self::Login,
        Self::PhotoView,
        Self::PhotoLike,
        Self::PhotoFavourite,
        Self::PhotoComment,
        Self::Follow,
        Self::PhotoUpload,
        Self::MarketplaceSubmit,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Self::PageView => "page_view",
            Self::Signup => "signup",
            Self::Login => "login",
            Self::PhotoView => "photo_view",
            Self::PhotoLike => "photo_like",
            Self::PhotoFavourite => "photo_favourite",
            Self::PhotoComment => "photo_comment",
            Self::Follow => "follow",
            Self::PhotoUpload => "photo_upload",
            Self::MarketplaceSubmit => "marketplace_submit",
        }
    }

    /// The definition [`Action::from_field`] must match (tests only: the
    /// parser finds names through [`Vocabulary`]).
    #[cfg(test)]
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The action named `field`, given the sixteen bytes of the line from the
    /// field's start (see [`Vocabulary`]).
    #[inline]
    pub(crate) fn from_field(field: &[u8], block: &[u8; 16]) -> Option<Self> {
        ACTIONS.find(field, block)
    }

    /// Only page views and photo views may come from a visitor who is not logged in.
    pub fn needs_user(self) -> bool {
        !matches!(self, Self::PageView | Self::PhotoView)
    }

    /// Likes, favourites, comments, follows and uploads count as engagement.
    pub fn is_engagement(self) -> bool {
        matches!(
            self,
            Self::PhotoLike | Self::PhotoFavourite | Self::PhotoComment | Self::Follow | Self::PhotoUpload
        )
    }
}

/// The app that sent a request; a missing or unknown `client` parameter is `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Client {
    Web,
    MobileWeb,
    Iphone,
    Android,
    Flipboard,
    #[default]
    Unknown,
}

impl Client {
    pub const ALL: [Client; 6] = [
        Self::Web,
        Self::MobileWeb,
        Self::Iphone,
        Self::Android,
        Self::Flipboard,
        Self::Unknown,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::MobileWeb => "mobile_web",
            Self::Iphone => "iphone",
            Self::Android => "android",
            Self::Flipboard => "flipboard",
            Self::Unknown => "unknown",
        }
    }

    /// As [`Client::from_param`], given the sixteen bytes of the line from the
    /// value's start (see [`Vocabulary`]).
    #[inline]
    pub(crate) fn from_field(value: &[u8], block: &[u8; 16]) -> Self {
        CLIENTS.find(value, block).unwrap_or(Self::Unknown)
    }

    /// The definition [`Client::from_field`] must match (tests only).
    #[cfg(test)]
    pub(crate) fn from_param(value: &[u8]) -> Self {
        match value {
            b"web" => Self::Web,
            b"mobile_web" => Self::MobileWeb,
            b"iphone" => Self::Iphone,
            b"android" => Self::Android,
            b"flipboard" => Self::Flipboard,
            _ => Self::Unknown,
        }
    }
}

/// The acquisition channel a visitor's landing request carries in `ref`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Organic,
    PaidSearch,
    Social,
    Email,
    Referral,
    Direct,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Self::Organic,
        Self::PaidSearch,
        Self::Social,
        Self::Email,
        Self::Referral,
        Self::Direct,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Self::Organic => "organic",
            Self::PaidSearch => "paid_search",
            Self::Social => "social",
            Self::Email => "email",
            Self::Referral => "referral",
            Self::Direct => "direct",
        }
    }

    /// As [`Channel::from_param`], given the sixteen bytes of the line from the
    /// value's start (see [`Vocabulary`]).
    #[inline]
    pub(crate) fn from_field(value: &[u8], block: &[u8; 16]) -> Option<Self> {
        CHANNELS.find(value, block)
    }

    /// The definition [`Channel::from_field`] must match (tests only).
    #[cfg(test)]
    pub(crate) fn from_param(value: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name().as_bytes() == value)
    }
}

/// A closed set of names, found by a table slot and one block compare. Trying
/// the names in turn cost a call to compare bytes for each, and a `match` on
/// the bytes jumps by the name's length, which changes from line to line at
/// random and so is mispredicted.
pub(crate) struct Vocabulary<T: 'static> {
    slots: [Option<Word<T>>; VOCABULARY_SLOTS],
}

#[derive(Clone, Copy)]
struct Word<T> {
    value: T,
    name: &'static [u8],
    /// The name's first sixteen bytes, padded with zeros (never compared).
    head: [u8; 16],
}

const VOCABULARY_SLOTS: usize = 32;

/// The first sixteen bytes of `name`, padded with zeros.
const fn head(name: &str) -> [u8; 16] {
    let name = name.as_bytes();
    let mut head = [0; 16];
    let mut at = 0;
    while at < name.len() && at < 16 {
        head[at] = name[at];
        at += 1;
    }
    head
}

/// A name's slot: its length and last byte tell apart the names of each
/// vocabulary here (building a table fails if two share a slot).
const fn slot(len: usize, last: u8) -> usize {
    (len + 6 * last as usize) % VOCABULARY_SLOTS
}

impl<T: Copy> Vocabulary<T> {
    const fn new(words: &[(T, &'static str)]) -> Self {
        let mut slots = [None; VOCABULARY_SLOTS];
        let mut i = 0;
        while i < words.len() {
            let (value, name) = words[i];
            let head = head(name);
            let name = name.as_bytes();
            let slot = slot(name.len(), name[name.len() - 1]);
            assert!(
                slots[slot].is_none(),
                "two names share a vocabulary slot: change `slot`"
            );
            slots[slot] = Some(Word { value, name, head });
            i += 1;
        }
        Self { slots }
    }

    /// The value named `field`; `block` is the sixteen bytes from the field's
    /// start, of which only the field's own are compared.
    #[inline]
    pub(crate) fn find(&self, field: &[u8], block: &[u8; 16]) -> Option<T> {
        let word = self.slots[slot(field.len(), *field.last()?)].as_ref()?;
        let head = word.name.len().min(16);
        let same = crate::blocks::equal_mask(block, &word.head) | !((1u32 << head) - 1);
        // Only `marketplace_submit` is longer than a block: its tail is compared as bytes.
        (same & 0xffff == 0xffff && field.len() == word.name.len() && field.get(16..) == word.name.get(16..))
            .then_some(word.value)
    }
}

macro_rules! vocabulary {
    ($name:ident: $type:ident) => {
        static $name: Vocabulary<$type> = Vocabulary::new(&{
            let mut words = [($type::ALL[0], ""); $type::ALL.len()];
            let mut i = 0;
            while i < words.len() {
                words[i] = ($type::ALL[i], $type::ALL[i].name());
                i += 1;
            }
            words
        });
    };
}

vocabulary!(ACTIONS: Action);
vocabulary!(CLIENTS: Client);
vocabulary!(CHANNELS: Channel);

#[cfg(test)]
mod tests {
    use super::*;

    /// A name is found from its bytes followed by anything, and nothing else
    /// is: not a prefix, an extension, a one-byte change, nor another name.
    #[test]
    fn vocabularies_find_their_names_and_nothing_else() {
        fn find_in<T: Copy>(vocabulary: &Vocabulary<T>, field: &[u8], after: &[u8]) -> Option<T> {
            let mut line = field.to_vec();
            line.extend_from_slice(after);
            line.resize(line.len().max(16), b' ');
            vocabulary.find(field, line.first_chunk::<16>().expect("padded"))
        }
        for after in [b"".as_slice(), b" 423223 1.2.3.4", b"&vid=0123", b"\n2015-02-10"] {
            for action in Action::ALL {
                let name = action.name().as_bytes();
                assert_eq!(find_in(&ACTIONS, name, after), Some(action));
                assert_eq!(Action::from_name(action.name()), Some(action));
                for wrong in [
                    &name[..name.len() - 1],
                    &[name, b"s"].concat(),
                    &[b"x", &name[1..]].concat(),
                ] {
                    assert_eq!(
                        find_in(&ACTIONS, wrong, after),
                        None,
                        "{}",
                        String::from_utf8_lossy(wrong)
                    );
                }
                let mut changed = name.to_vec();
                for at in 0..changed.len() {
                    changed[at] ^= 1;
                    assert_eq!(find_in(&ACTIONS, &changed, after), None);
                    changed[at] ^= 1;
                }
            }
            for client in Client::ALL {
                let expected = Client::from_param(client.name().as_bytes());
                assert_eq!(
                    find_in(&CLIENTS, client.name().as_bytes(), after).unwrap_or(Client::Unknown),
                    expected
                );
            }
            for channel in Channel::ALL {
                assert_eq!(find_in(&CHANNELS, channel.name().as_bytes(), after), Some(channel));
            }
            for other in [
                b"".as_slice(),
                b"webb",
                b"ios",
                b"Web",
                b"paid",
                b"organics",
                b"unknown",
            ] {
                assert_eq!(
                    find_in(&CLIENTS, other, after).unwrap_or(Client::Unknown),
                    Client::from_param(other)
                );
                assert_eq!(find_in(&CHANNELS, other, after), Channel::from_param(other));
                assert_eq!(find_in(&ACTIONS, other, after), None);
            }
        }
    }
}
