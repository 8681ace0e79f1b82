"""Contacts as vCard, from the Microsoft Graph v1.0 JSON of a contact as Graph returns it (and as the backup
stores it). Built with `vobject`, never by hand."""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

from core.errors import InvalidRequestError

# `vobject` is imported where a contact is exported, not with this module: every CLI command and host loads the
# workload registry, which names this module, and the library costs a sixth of a second of CPU to import.


def _photo_type(photo: bytes) -> tuple[str, str]:
    """(vCard 3.0 TYPE, media type) sniffed from the image's magic bytes (Graph serves JPEG for most photos)."""
    if photo.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG", "image/png"
    if photo[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF", "image/gif"
    return "JPEG", "image/jpeg"


def _date_only(value: str | None) -> date | None:
    """A Graph birthday ('1974-07-22T00:00:00Z' or '1974-07-22') as a date."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def nonempty(values: Any) -> list[str]:
    return [v for v in (values or []) if isinstance(v, str) and v.strip()]


def contact_to_vcard(contact: dict[str, Any], photo: bytes | None = None, version: str = "3.0") -> str:
    """One contact as a vCard (3.0 by default, or 4.0): names, emails, phones, addresses, organization, title,
    birthday, notes, categories, web page, IM addresses and the photo when given (the bytes of
    `/contacts/{id}/photo/$value`)."""
    import vobject

    if version not in ("3.0", "4.0"):
        raise InvalidRequestError(f"vCard version must be 3.0 or 4.0, got {version!r}")
    v4 = version == "4.0"
    card = vobject.vCard()
    card.add("version").value = version
    if contact.get("id"):
        card.add("uid").value = contact["id"]

    given, surname = contact.get("givenName") or "", contact.get("surname") or ""
    emails = [e for e in contact.get("emailAddresses") or [] if (e or {}).get("address")]
    display = (
        contact.get("displayName")
        or " ".join(p for p in (given, surname) if p)
        or contact.get("companyName")
        or (emails[0]["address"] if emails else "")
    )
    card.add("fn").value = display
    card.add("n").value = vobject.vcard.Name(
        family=surname,
        given=given,
        additional=contact.get("middleName") or "",
        prefix=contact.get("title") or "",
        suffix=contact.get("generation") or "",
    )
    if contact.get("nickName"):
        card.add("nickname").value = contact["nickName"]

    for n, email in enumerate(emails):
        line = card.add("email")
        line.value = email["address"]
        if v4:
            if n == 0:
                line.pref_param = "1"
        else:
            line.type_paramlist = ["INTERNET", "PREF"] if n == 0 else ["INTERNET"]

    def phone(number: str, types: list[str]) -> None:
        line = card.add("tel")
        line.value = number
        line.type_paramlist = [t.lower() for t in types] if v4 else types

    for number in nonempty(contact.get("businessPhones")):
        phone(number, ["WORK", "VOICE"])
    for number in nonempty(contact.get("homePhones")):
        phone(number, ["HOME", "VOICE"])
    if contact.get("mobilePhone"):
        phone(contact["mobilePhone"], ["CELL", "VOICE"])

    for key, kind in (("homeAddress", "HOME"), ("businessAddress", "WORK"), ("otherAddress", "")):
        address = contact.get(key) or {}
        parts = {k: address.get(k) or "" for k in ("street", "city", "state", "postalCode", "countryOrRegion")}
        if not any(parts.values()):
            continue
        line = card.add("adr")
        line.value = vobject.vcard.Address(
            street=parts["street"],
            city=parts["city"],
            region=parts["state"],
            code=parts["postalCode"],
            country=parts["countryOrRegion"],
        )
        if kind:
            line.type_param = kind.lower() if v4 else kind

    if contact.get("companyName") or contact.get("department"):
        units = [contact.get("companyName") or ""]
        if contact.get("department"):
            units.append(contact["department"])
        card.add("org").value = units
    if contact.get("jobTitle"):
        card.add("title").value = contact["jobTitle"]
    if contact.get("profession"):
        card.add("role").value = contact["profession"]
    birthday = _date_only(contact.get("birthday"))
    if birthday is not None:
        card.add("bday").value = birthday.strftime("%Y%m%d") if v4 else birthday.isoformat()
    if contact.get("personalNotes"):
        card.add("note").value = contact["personalNotes"]
    categories = nonempty(contact.get("categories"))
    if categories:
        card.add("categories").value = categories
    if contact.get("businessHomePage"):
        card.add("url").value = contact["businessHomePage"]
    for im in nonempty(contact.get("imAddresses")):
        card.add("impp").value = im if ":" in im else f"sip:{im}"
    if contact.get("lastModifiedDateTime"):
        card.add("rev").value = contact["lastModifiedDateTime"]

    if photo:
        kind, media = _photo_type(photo)
        line = card.add("photo")
        if v4:  # a data: URI, already in its wire form (no text escaping)
            line.value = f"data:{media};base64,{base64.b64encode(photo).decode('ascii')}"
            line.encoded = True
        else:
            line.value = photo
            line.encoding_param = "b"
            line.type_param = kind
    return card.serialize()


def contacts_to_vcf(
    contacts: list[dict[str, Any]], photos: dict[str, bytes] | None = None, version: str = "3.0"
) -> str:
    """Several contacts as one .vcf file (photos by contact id)."""
    photos = photos or {}
    return "".join(contact_to_vcard(c, photos.get(c.get("id", "")), version) for c in contacts)
