"""The post as data: `post.json` in a capture folder. Documented in docs/post-format.md.

Every field is what the page showed at capture time, read from the capture's own evidence
(the DOM snapshot and the responses in the WARC); `sources` says where each part came from.
"""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

POST_FORMAT = "archiver.post/1"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceKind(str, enum.Enum):
    DOM = "dom"  # an element of the DOM snapshot (dom.html), located by `locator` (CSS)
    JSON_LD = "json-ld"  # <script type="application/ld+json"> in the DOM
    OPENGRAPH = "opengraph"  # <meta property="og:*">
    TWITTER_CARD = "twitter-card"  # <meta name="twitter:*">
    OEMBED = "oembed"  # an oEmbed JSON response recorded in the WARC
    MICROFORMATS = "microformats"  # h-entry / h-card classes in the DOM
    EMBEDDED_JSON = "embedded-json"  # JSON inside a <script> of the page (state blobs)
    API_JSON = "api-json"  # a JSON response recorded in the WARC, `locator` = its URL
    RESPONSE = "response"  # another recorded response (an iframe's HTML), `locator` = its URL
    URL = "url"  # the capture's URL itself (ids and handles in the path)


class Source(Model):
    """One piece of evidence an extractor read."""

    kind: SourceKind
    locator: str  # CSS selector, meta name, script selector or response URL
    fields: list[str] = Field(default_factory=list)  # which post fields it gave


class Author(Model):
    display_name: str | None = None
    handle: str | None = None  # as the platform writes it: "@jack", "@user@mastodon.social"
    url: str | None = None  # profile URL
    id: str | None = None  # platform's user id, where the page shows it
    avatar_url: str | None = None
    verified: bool | None = None  # a verification badge was shown


class LinkKind(str, enum.Enum):
    LINK = "link"
    MENTION = "mention"
    HASHTAG = "hashtag"


class Link(Model):
    """A link inside the post text, as shown (`text`) and where it points (`url`)."""

    kind: LinkKind
    text: str
    url: str | None = None


class MediaType(str, enum.Enum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    GIF = "gif"  # an animated image, often delivered as a looping video


class MediaOrigin(str, enum.Enum):
    RECORDED = "recorded"  # the browser loaded it during the capture: a response record
    FETCHED = "fetched"  # fetched whole from inside the page after the load: a response record
    YT_DLP = "yt-dlp"  # downloaded with yt-dlp: a resource record


class Media(Model):
    type: MediaType
    url: str  # the full-size URL as the platform names it
    alt: str | None = None  # alt text / description as shown
    width: int | None = None
    height: int | None = None
    poster_url: str | None = None  # a video's still image
    # what the capture holds of it (filled by the media stage, not by the extractor)
    path: str | None = None  # the archived file, relative to the capture folder
    sha256: str | None = None
    size: int | None = None
    media_type: str | None = None  # MIME type of the archived file
    origin: MediaOrigin | None = None
    warc_uri: str | None = None  # the WARC record that holds the same bytes
    note: str | None = None  # why it is missing, or what was limited


class Count(Model):
    """One engagement count as the page displayed it."""

    name: str  # replies, reposts, likes, quotes, views, bookmarks, comments, shares, reactions, ...
    displayed: str  # exactly as shown: "1.2K", "12", "1,024"
    value: int | None = None  # our reading of `displayed`: 1200, 12, 1024 (None if unreadable)


class Relations(Model):
    reply_to: str | None = None  # URL of the post this one answers
    quote_of: str | None = None  # URL of the post it quotes
    repost_of: str | None = None  # URL of the original when this is a repost/boost/retweet
    thread_root: str | None = None  # URL of the first post of the thread, when shown


class Extraction(Model):
    extractor: str  # module that produced the post, e.g. "x", "mastodon", "generic"
    version: int  # bumped when the extractor's reading of a platform changes
    fallback_used: list[str] = Field(default_factory=list)  # fields filled by the generic one


class Post(Model):
    format: str = POST_FORMAT
    platform: str  # x, facebook, instagram, tiktok, telegram, youtube, mastodon, bluesky, ...
    id: str | None = None
    url: str  # canonical URL of the post
    author: Author = Field(default_factory=Author)
    published: datetime | None = None  # UTC
    published_raw: str | None = None  # exactly as the page stated it
    title: str | None = None  # videos and articles have one
    text: str | None = None  # as shown, paragraphs separated by blank lines
    links: list[Link] = Field(default_factory=list)
    language: str | None = None  # where the page states it (BCP 47)
    media: list[Media] = Field(default_factory=list)
    counts: list[Count] = Field(default_factory=list)
    counts_read_at: datetime | None = None  # when the counts were read (the DOM snapshot)
    relations: Relations = Field(default_factory=Relations)
    sources: list[Source] = Field(default_factory=list)
    extraction: Extraction


class PostOutcome(Model):
    """What extraction made of one capture: recorded in provenance.json as `post`."""

    found: bool
    platform: str | None = None
    extractor: str | None = None
    path: str | None = None  # post.json, when found
    element_screenshot: str | None = None  # post.png, when the post element was found
    login_required: str | None = None  # why we think the page shows a login wall
    media_archived: int = 0
    media_missing: int = 0
    notes: list[str] = Field(default_factory=list)
