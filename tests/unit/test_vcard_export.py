"""Contacts → vCard, from Graph v1.0 JSON shaped like the docs' examples, parsed back with vobject and compared
field by field."""

from __future__ import annotations

import base64
import io

import pytest
import vobject

from core.errors import InvalidRequestError
from core.exports.vcard import contact_to_vcard, contacts_to_vcf

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(200))

CONTACT = {
    "@odata.etag": 'W/"EQAAABYAAACd9nJ/tVysQos2hTfspaWRAAADrUfZ"',
    "id": "AAMkAGI2THVSAAA=",
    "createdDateTime": "2017-05-22T16:50:21Z",
    "lastModifiedDateTime": "2017-05-22T16:50:22Z",
    "categories": ["Friends", "Zürich office"],
    "parentFolderId": "AAMkAGI2AAEOAAA=",
    "birthday": "1974-07-22T00:00:00Z",
    "fileAs": "",
    "displayName": "Pavel Bansky — Паша",
    "givenName": "Pavel",
    "initials": None,
    "middleName": "Š.",
    "nickName": "Paša",
    "surname": "Bansky",
    "title": "Dr.",
    "generation": "Jr.",
    "imAddresses": ["pavelb@contoso.onmicrosoft.com"],
    "jobTitle": "Senior Engineer",
    "companyName": "Contoso, Ltd.",
    "department": "R&D; Devices",
    "officeLocation": None,
    "profession": "Engineer",
    "businessHomePage": "https://contoso.example/pavel",
    "mobilePhone": "+1 425 555 0199",
    "businessPhones": ["+1 732 555 0102", "+1 732 555 0103"],
    "homePhones": ["+420 222 333 444"],
    "spouseName": None,
    "personalNotes": "Met at the Praha meetup.\nPrefers email; never calls, ever.",
    "children": [],
    "emailAddresses": [
        {"address": "pavelb@contoso.onmicrosoft.com", "name": "Pavel Bansky"},
        {"address": "pavel.bansky@example.cz", "name": "Pavel (home)"},
    ],
    "homeAddress": {
        "street": "Václavské náměstí 1",
        "city": "Praha",
        "state": "",
        "countryOrRegion": "Czech Republic",
        "postalCode": "110 00",
    },
    "businessAddress": {
        "street": "1 Microsoft Way",
        "city": "Redmond",
        "state": "WA",
        "countryOrRegion": "United States",
        "postalCode": "98052",
    },
    "otherAddress": {},
}


def _params(line) -> set[str]:
    return {p.upper() for p in line.params.get("TYPE", [])}


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_contact_round_trips_through_vobject(version):
    text = contact_to_vcard(CONTACT, photo=PNG, version=version)
    card = vobject.readOne(text)
    assert card.version.value == version
    assert card.uid.value == CONTACT["id"]
    assert card.fn.value == "Pavel Bansky — Паша"
    name = card.n.value
    assert (name.family, name.given, name.additional, name.prefix, name.suffix) == (
        "Bansky",
        "Pavel",
        "Š.",
        "Dr.",
        "Jr.",
    )
    assert card.nickname.value == "Paša"
    assert [e.value for e in card.email_list] == [e["address"] for e in CONTACT["emailAddresses"]]
    first = card.email_list[0]
    assert ("PREF" in _params(first)) if version == "3.0" else first.params["PREF"] == ["1"]
    phones = {t.value: _params(t) for t in card.tel_list}
    assert set(phones) == {"+1 732 555 0102", "+1 732 555 0103", "+420 222 333 444", "+1 425 555 0199"}
    assert "WORK" in phones["+1 732 555 0102"] and "HOME" in phones["+420 222 333 444"]
    assert "CELL" in phones["+1 425 555 0199"]
    addresses = {next(iter(_params(a))): a.value for a in card.adr_list}
    assert set(addresses) == {"HOME", "WORK"}  # the empty otherAddress is left out
    home = addresses["HOME"]
    assert (home.street, home.city, home.code, home.country) == (
        "Václavské náměstí 1",
        "Praha",
        "110 00",
        "Czech Republic",
    )
    assert (addresses["WORK"].city, addresses["WORK"].region) == ("Redmond", "WA")
    assert card.org.value == ["Contoso, Ltd.", "R&D; Devices"]
    assert card.title.value == "Senior Engineer"
    assert card.role.value == "Engineer"
    assert card.bday.value == ("1974-07-22" if version == "3.0" else "19740722")
    assert card.note.value == CONTACT["personalNotes"]
    assert card.categories.value == ["Friends", "Zürich office"]
    assert card.url.value == "https://contoso.example/pavel"
    assert card.impp.value == "sip:pavelb@contoso.onmicrosoft.com"
    if version == "3.0":
        assert card.photo.value == PNG
        assert card.photo.params["TYPE"] == ["PNG"]
    else:
        # vobject decodes every vCard's PHOTO as 3.0 text (splitting a URI at its comma): read the content line
        assert hasattr(card, "photo")
        lines = [vobject.base.parseLine(line) for line, _ in vobject.base.getLogicalLines(io.StringIO(text))]
        uri = next(value for name, _, value, _ in lines if name == "PHOTO")
        assert uri.startswith("data:image/png;base64,")
        assert base64.b64decode(uri.split(",", 1)[1]) == PNG
        assert "PHOTO:data:image/png;base64," in text  # a URI, not backslash-escaped text


def test_minimal_contact_and_a_jpeg_photo_and_several_in_one_file():
    bare = {"id": "c2", "emailAddresses": [{"address": "only@example.com"}]}
    card = vobject.readOne(contact_to_vcard(bare, photo=JPEG))
    assert card.fn.value == "only@example.com"  # FN is required: falls back to the address
    assert card.photo.params["TYPE"] == ["JPEG"] and card.photo.value == JPEG
    assert not hasattr(card, "bday") and not hasattr(card, "org")
    both = list(vobject.readComponents(contacts_to_vcf([CONTACT, bare], photos={"c2": JPEG})))
    assert [c.uid.value for c in both] == [CONTACT["id"], "c2"]
    assert not hasattr(both[0], "photo") and both[1].photo.value == JPEG


def test_unknown_vcard_version_is_refused():
    with pytest.raises(InvalidRequestError):
        contact_to_vcard(CONTACT, version="2.1")
