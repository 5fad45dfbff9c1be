"""The swagger's request schemas for /api2/public (tag ``public``), rule by rule."""
from __future__ import annotations

from typing import Any

from inbox.connectors.custom_manifest import HTTPS_URI, NETWORK_ITEM_ID_RE, REPLY_ITEM_ID_RE, string

# Our columns hold 200 characters; longer names are refused, longer external ids stored hashed.
NAME_COLUMN = 200
# The swagger leaves a message's length open; ours is the limit of every text the API takes
# (inbox.fields.TEXT_MAX): a 1 MB message was accepted before.
MESSAGE_MAX = 10_000

TICKET_TYPES = ["POST", "COMMENT", "THREAD", "MESSAGE", "RATING", "ALBUM", "PHOTO", "MENTION", "DM", "MEDIA",
                "VIDEO", "TWEET", "REVIEW", "WEB", "NEWS", "BLOG", "FORUM", "TICKET", "ADPOST"]
ITEM_ID = string(pattern=NETWORK_ITEM_ID_RE)
URI = string(format="uri", maxLength=2048)
DATE_TIME = string(format="date-time")
PICTURES = {"type": "array", "maxItems": 50, "items": {
    "type": "object", "required": ["small"], "properties": {"small": URI, "large": URI}}}
ATTACHMENTS = {"type": "array", "maxItems": 50, "items": {
    "type": "object", "required": ["url"], "properties": {
        "url": URI, "size": {"type": "number", "minimum": 0}, "name": string(maxLength=1000),
        "mimeType": string(maxLength=200)}}}
RATING = {"type": "object", "properties": {"value": {"type": "number", "minimum": 0},
                                           "scale": {"type": "number", "minimum": 0, "maximum": 100}}}
INTERACTOR_FIELDS = {"name": string(maxLength=NAME_COLUMN), "url": URI, "picture": URI}

CREATE_TICKET = {"type": "object", "required": ["interaction"], "properties": {"interaction": {
    # networkItemId is not marked required in the swagger, but it is the item's identity (and the
    # 409 dedupe key): without it nothing could be updated or deduplicated, so we require it.
    "type": "object", "required": ["networkItemId"], "properties": {
        "root": {"type": "object", "properties": {"rootId": ITEM_ID}},
        "type": string(enum=TICKET_TYPES),
        "message": string(maxLength=MESSAGE_MAX),
        "createdTime": DATE_TIME,
        "networkItemId": ITEM_ID,
        "url": URI, "link": URI, "pictures": PICTURES, "attachments": ATTACHMENTS,
        "interactor": {"type": "object", "required": ["interactorId"],
                       "properties": {"interactorId": string(minLength=3, maxLength=256), **INTERACTOR_FIELDS}},
        "rating": RATING}}}}
UPDATE_TICKET = {"type": "object", "properties": {"interaction": {"type": "object", "properties": {
    "message": string(maxLength=MESSAGE_MAX), "updatedTime": DATE_TIME, "url": URI, "link": URI, "pictures": PICTURES,
    "attachments": ATTACHMENTS, "interactor": {"type": "object", "properties": INTERACTOR_FIELDS},
    "rating": RATING}}}}
RESET_ACTION = {"type": "object", "properties": {"followupId": string(minLength=1, maxLength=64),
                                                 "reason": string(maxLength=2000)}}
REPLY_SUCCESS = {"type": "object", "required": ["interaction"], "properties": {"interaction": {
    "type": "object", "required": ["networkItemId"], "properties": {
        "networkItemId": string(pattern=REPLY_ITEM_ID_RE), "type": string(enum=TICKET_TYPES), "url": URI,
        "createdTime": DATE_TIME}}}}


def channel_schema(with_network_id: bool) -> dict[str, Any]:
    """``POST /public/channels`` and ``PATCH /public/channel`` differ only by ``endpoint.networkId``."""
    endpoint: dict[str, Any] = {
        "expirationTime": DATE_TIME,
        "user": {"type": "object", "properties": {
            "id": string(maxLength=256), "name": string(maxLength=NAME_COLUMN), "profileUrl": URI,
            "profileImage": HTTPS_URI}}}
    if with_network_id:
        endpoint["networkId"] = string(maxLength=256)
    return {"type": "object", "properties": {
        "name": string(minLength=1, maxLength=NAME_COLUMN), "uniqueName": string(maxLength=NAME_COLUMN),
        "imageUrl": URI, "endpoint": {"type": "object", "properties": endpoint}}}

