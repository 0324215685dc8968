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

    pub fn name(self) -> &'static str {
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

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
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

    pub fn name(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::MobileWeb => "mobile_web",
            Self::Iphone => "iphone",
            Self::Android => "android",
            Self::Flipboard => "flipboard",
            Self::Unknown => "unknown",
        }
    }

    pub fn from_param(value: &[u8]) -> Self {
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

    pub fn name(self) -> &'static str {
        match self {
            Self::Organic => "organic",
            Self::PaidSearch => "paid_search",
            Self::Social => "social",
            Self::Email => "email",
            Self::Referral => "referral",
            Self::Direct => "direct",
        }
    }

    pub fn from_param(value: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name().as_bytes() == value)
    }
}
