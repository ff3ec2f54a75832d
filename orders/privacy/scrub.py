"""Carrier checkpoint text without the people in it, for answers that promise nothing personal.

Carriers write who took a parcel, and where, into their event text: "Delivered - Signed for by :
J SMITH", "Die Sendung wurde beim Nachbarn Herrn Schulz zugestellt", "Votre colis a été remis à
votre voisin M. DUPONT, 12 rue de la Paix", "Odebrał: KOWALSKI". The limited view (a tracking
number alone) and the PNG widget (shipping emails get forwarded) show carrier text, so it passes
through `scrub` first; full access shows the original.

What goes, in English, German, French, Spanish, Dutch, Italian and Polish:

- the name after a signature or hand-over phrase ("signed for by", "unterschrieben von",
  "remis à", "firmado por", "getekend door", "firmato da", "podpisał"), which becomes a neutral
  word ("signed for", "unterschrieben", "remis", …), and labelled names ("Receiver: …",
  "Empfänger: …", "Destinataire : …", "Odbiorca: …"), which go with their label;
- names after a neighbour or other stand-in ("neighbour J. MILLER", "Nachbar Müller",
  "vecino JUAN GARCIA"): the stand-in stays, the name and house number go;
- titled names anywhere ("Herrn Schulz", "Mrs Jones", "M. DUPONT", "Sig. Rossi", "Pani Nowak");
- street addresses, house numbers ("at No. 12", "huisnummer 14"), full UK postcodes and ZIP+4
  codes, email addresses and phone numbers.

When in doubt it removes too much rather than too little: the rest of a clause after "signed for
by" goes, whatever it is. Everything else (facility names, cities, "In transit") is untouched.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache

# --- patterns that need no context ----------------------------------------------------------------

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(
    r"(?:"
    r"\+\d{1,3}[\s./-]?(?:\(0\)\s?)?\d(?:[\s./-]?\d){6,13}"  # +44 7700 900123, +49 (0)30 1234567
    r"|\(\d{3}\)\s?\d{3}[-.\s]\d{4}"  # (512) 555-0100
    r"|\b\d{3}[-.]\d{3}[-.]\d{4}\b"  # 512-555-0100
    r"|\b0\d{2,4}[\s/-]\d{3,}(?:[\s-]\d{2,})*\b"  # 030 1234567, 0800 123 4567, 06-12345678
    r")"
)
UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b")
ZIP_PLUS_FOUR = re.compile(r"\b\d{5}-\d{4}\b")

_NAME = r"[A-ZÀ-ÖØ-ÞĄĆĘŁŃŚŹŻ][\w'’-]*"  # a capitalised word
_NAMES = rf"{_NAME}(?:\s+(?:(?:de|del|della|di|du|da|des|la|le|van|von|der|den)\s+)*{_NAME}){{0,3}}"
ADDRESSES = [
    # 123 Main St, 12 High Street, 4500 Oak Ridge Blvd.
    re.compile(
        r"\b\d{1,5}[A-Za-z]?\s+(?:[\w'.-]+\s+){0,3}?"
        r"(?:street|st|road|rd|avenue|ave|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl|"
        r"terrace|close|crescent|square|sq|highway|hwy|parkway|pkwy|circle|cir|grove|gardens|mews)\b\.?"
        r"(?:,?\s*(?:apt|apartment|unit|suite|ste|flat)\.?\s*#?\s*\w+)?",
        re.IGNORECASE,
    ),
    # Hauptstraße 5, Lindenstr. 12a, Am Ring 3 (de); Kerkstraat 14, Dorpsweg 3 (nl)
    re.compile(
        r"\b[\wÄÖÜäöüß-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee|"
        r"straat|laan|plein|gracht|kade|singel|dijk|steeg)\s*\d{1,4}\s?[a-zA-Z]?(?:/\d+)?\b",
        re.IGNORECASE,
    ),
    # 12 rue de la Paix, 5 bis avenue Victor Hugo (fr)
    re.compile(
        r"(?:\b\d{1,4}\s?(?:bis|ter)?,?\s+)?\b(?i:rue|avenue|av\.|boulevard|bd|chemin|allée|impasse|quai|"
        r"route|cours|passage)\s+(?:(?:de|du|des|la|le|les)\s+|[dl]['’]\s*)*" + _NAMES
    ),
    # Calle Mayor 5, Avda. de la Constitución 12 (es); Via Roma 10, Piazza Garibaldi 3 (it)
    re.compile(
        r"\b(?i:calle|c/|avda\.?|avenida|plaza|pza\.|paseo|camino|carretera|ronda|travesía|"
        r"via|viale|piazza|piazzale|corso|largo|vicolo)\s+(?:(?:de|del|la|las|los|di|della|dei|delle)\s+)*"
        + _NAMES
        + r"(?:,?\s*(?:n[º°.]?\s*)?\d{1,4}[a-zA-Z]?)?"
    ),
    # ul. Polna 5/2, al. Jerozolimskie 100 (pl)
    re.compile(
        r"\b(?i:ul\.|ulica|al\.|aleja|os\.|osiedle|pl\.|plac)\s*" + _NAMES + r"\s*\d{1,4}[a-zA-Z]?(?:/\d+)?"
    ),
    # at number 12, No. 12, Nr. 5, huisnummer 14, n° 3
    re.compile(
        r"\b(?:(?:at|on|bei|op|à|au|al|in|w|pod)\s+(?:number|nummer|numéro|número|numero|numer)|"
        r"house\s+number|hausnummer|huisnummer|no\.|nr\.|n[º°])\s*\d{1,4}\s?[a-zA-Z]?\b",
        re.IGNORECASE,
    ),
]

# --- phrases that introduce a person --------------------------------------------------------------

# (phrase, neutral replacement). A phrase ending in ":" is a label: it goes with the name.
HANDOVER_PHRASES: list[tuple[str, str]] = [
    # en
    ("signed for by", "signed for"),
    ("signed by", "signed"),
    ("received by", "received"),
    ("accepted by", "accepted"),
    ("collected by", "collected"),
    ("picked up by", "picked up"),
    ("left with", "left with someone"),
    ("released to", "released"),
    ("handed (?:over )?to", "handed over"),
    # de
    ("unterschrieben von", "unterschrieben"),
    ("unterzeichnet von", "unterschrieben"),
    ("quittiert von", "quittiert"),
    ("entgegengenommen von", "entgegengenommen"),
    ("angenommen von", "angenommen"),
    ("abgeholt von", "abgeholt"),
    ("übergeben an", "übergeben"),
    ("zugestellt an", "zugestellt"),
    # fr
    ("sign[ée]e? par", "signé"),
    ("réceptionn[ée]e? par", "réceptionné"),
    ("reçue? par", "reçu"),
    ("remise? (?:à|a)", "remis"),
    ("livrée? (?:à|a)", "livré"),
    ("retirée? par", "retiré"),
    # es
    ("firmado por", "firmado"),
    ("recibido por", "recibido"),
    ("recogido por", "recogido"),
    ("entregad[oa] a", "entregado"),
    # nl
    ("(?:onder)?getekend door", "getekend"),
    ("ontvangen door", "ontvangen"),
    ("afgegeven aan", "afgegeven"),
    ("afgeleverd aan", "afgeleverd"),
    ("opgehaald door", "opgehaald"),
    # it
    ("firmat[oa] da", "firmato"),
    ("ricevut[oa] da", "ricevuto"),
    ("ritirat[oa] da", "ritirato"),
    ("consegnat[oa] a", "consegnato"),
    # pl
    ("podpisał(?:a)?", "podpisano"),
    ("podpisane przez", "podpisano"),
    ("odebrał(?:a)?", "odebrano"),
    ("odebrane przez", "odebrano"),
    ("doręczon[oa] do", "doręczono"),
    ("wydan[oa](?: osobie)?", "wydano"),
    # labels, any language
    (
        "(?:receiver|recipient|consignee|signatory|signature|received by|name|empfänger(?:in)?|"
        "ersatzempfänger|unterschrift|destinataire|réceptionnaire|signataire|nom|receptor|"
        "destinatario|firmante|nombre|recibe|ontvanger|geadresseerde|handtekening|naam|firmatario|"
        "ricevente|nome|odbiorca|odbierający|podpis|imię i nazwisko|nazwisko)\\s*:",
        "",
    ),
]

# Who else may take a parcel. They stay; a name or house number after them goes.
STAND_INS = (
    r"neighbou?r(?:'s|s)?|individual|receptionist|reception|concierge|doorman|mail\s?room|front desk|"
    r"household member|family member|building manager|"
    r"nachbar(?:n|in)?|ersatzempfänger|empfänger(?:in)?|rezeption|hausmeister(?:in)?|pförtner(?:in)?|"
    r"voisine?|gardienne?|accueil|destinataire|"
    r"vecin[oa]|porter[oa]|portería|conserje|recepción|"
    r"buren|buurman|buurvrouw|receptie|conciërge|geadresseerde|ontvanger|"
    r"vicin[oa](?: di casa)?|portiere|portineria|"
    r"sąsiad(?:a|owi|ki|ce|ka)?|recepcj[ai]|portier(?:a|owi)?|adresat(?:a|owi)?|odbiorc[ay]"
)
DETERMINERS = (
    r"the|your|a|an|one of your|den|dem|der|die|einen|einem|einer|ihren|ihrem|ihrer|le|la|l'|votre|un|une|"
    r"au|à|el|su|una|al|de|het|uw|een|il|lo|alla|allo|do|w"
)
HONORIFICS = (
    r"mr|mrs|ms|miss|mx|dr|herrn?|frau|hr|fr|m|mme|mlle|sr|sra|srta|señor|señora|don|doña|"
    r"sig|sig\.ra|sig\.na|signor|signora|dhr|mevr|mevrouw|meneer|pan|pani|pana"
)

_HANDOVER = re.compile(
    r"\b(?:"
    + "|".join(f"(?P<h{i}>{phrase})" for i, (phrase, _n) in enumerate(HANDOVER_PHRASES))
    + r")(?!\w)",
    re.IGNORECASE,
)
_STAND_IN = re.compile(rf"\b(?:(?:{DETERMINERS})\s+)*(?:{STAND_INS})(?!\w)", re.IGNORECASE)
_DETERMINED_STAND_IN = re.compile(rf"\s*(?:(?:{DETERMINERS})\s+|l')*(?:{STAND_INS})(?!\w)", re.IGNORECASE)
_HONORIFIC = re.compile(rf"\b(?:{HONORIFICS})\b\.?(?=\s+\S)", re.IGNORECASE)
_TOKEN = re.compile(r"\s*[,:]?\s*([^\s,;:|()\[\]]+)")
_PARTICLE = re.compile(r"(?:van|von|de|der|den|di|da|du|del|della|la|le|ten|ter|y|zu)$", re.IGNORECASE)
_LEADS_TO_NUMBER = re.compile(
    r"(?:at|in|on|bei|an|op|à|au|a|al|en|w|pod|nr\.?|no\.?|n[º°]|number|nummer|numéro|número|numero|numer)$",
    re.IGNORECASE,
)
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "hr",
    "fr",
    "sr",
    "sra",
    "nr",
    "no",
    "ul",
    "al",
    "av",
    "str",
    "sig",
}


def _name_like(token: str) -> bool:
    bare = token.strip(".'’-")
    if not bare:
        return False
    if _HONORIFIC.fullmatch(token) or re.fullmatch(rf"(?:{HONORIFICS})\.?", token, re.IGNORECASE):
        return True
    if re.fullmatch(r"\d{1,4}[a-zA-Z]?(?:/\d+)?", bare):  # a house number
        return True
    return bare[0].isupper() and any(ch.isalpha() for ch in bare)


def _name_run(text: str, start: int) -> int:
    """Where a run of name-like words (and house numbers) that begins at `start` ends."""
    end = pos = start
    while True:
        match = _TOKEN.match(text, pos)
        if match is None:
            return end
        token = match.group(1)
        if _name_like(token):
            end = pos = match.end()
            word = token.rstrip(".").lower()
            if token.endswith(".") and len(word) > 1 and word not in _ABBREVIATIONS:
                return end - 1  # "… DUPONT." ends the sentence: its full stop stays
            continue
        following = _TOKEN.match(text, match.end())
        follows_name = following is not None and _name_like(following.group(1))
        if (_PARTICLE.fullmatch(token) or _LEADS_TO_NUMBER.fullmatch(token)) and follows_name:
            pos = match.end()
            continue
        return end


def _clause_end(text: str, start: int) -> int:
    """The end of the clause that `start` is in: a ; | ( ) or line break, a spaced dash, or a full
    stop that ends a sentence (not the one after an initial or an abbreviation)."""
    index = start
    while index < len(text):
        char = text[index]
        if char in ";|()[]\n":
            return index
        if char in "-–—" and text[index - 1 : index] == " " and text[index + 1 : index + 2] == " ":
            return index - 1
        if char in ".!?":
            before = re.search(r"(\w+)\W*$", text[start:index])
            word = before.group(1) if before else ""
            is_initial = len(word) == 1 or word.lower() in _ABBREVIATIONS
            rest = text[index + 1 :]
            if not is_initial and (not rest.strip() or re.match(r"\s+[A-ZÀ-Þ][a-zà-ÿ]{2,}", rest)):
                return index
        index += 1
    return index


def _neutral(original: str, neutral: str) -> str:
    """The neutral word in the case the carrier wrote the phrase in."""
    if original.isupper():
        return neutral.upper()
    if original[:1].isupper():
        return neutral[:1].upper() + neutral[1:]
    return neutral


def _handovers(text: str) -> str:
    pieces, pos = [], 0
    for match in _HANDOVER.finditer(text):
        if match.start() < pos:
            continue
        index = int(match.lastgroup[1:])
        neutral = HANDOVER_PHRASES[index][1]
        stand_in = _DETERMINED_STAND_IN.match(text, match.end())
        if stand_in is not None:  # "left with the neighbour J. MILLER": keep "left with the neighbour"
            end = _name_run(text, stand_in.end())
            pieces.append(text[pos : stand_in.end()])
        else:
            end = _clause_end(text, match.end())
            if end == match.end():
                continue  # nothing after the phrase: nobody named
            pieces.append(text[pos : match.start()] + _neutral(match.group(0), neutral))
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces)


def _stand_ins(text: str) -> str:
    pieces, pos = [], 0
    for match in _STAND_IN.finditer(text):
        if match.start() < pos:
            continue
        end = _name_run(text, match.end())
        pieces.append(text[pos : match.end()])
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces)


def _titled_names(text: str) -> str:
    pieces, pos = [], 0
    for match in _HONORIFIC.finditer(text):
        if match.start() < pos:
            continue
        end = _name_run(text, match.end())
        if end == match.end():
            continue  # "Fr., 12.01." is a Friday, not Frau
        pieces.append(text[pos : match.start()])
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces)


def _phones(text: str) -> str:
    def replace(match: re.Match) -> str:
        digits = sum(ch.isdigit() for ch in match.group(0))
        return "" if digits >= 7 else match.group(0)

    text = PHONE.sub(replace, text)
    return text


def _tidy(text: str, original: str) -> str:
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\(\s*[,;:.-]*\s*\)|\[\s*\]", "", text)  # brackets left empty
    text = re.sub(r"\s+([,.;:!?)])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)  # ", ," → ","
    text = re.sub(r"[,;:]\s*([.!?])", r"\1", text)  # ", ." → "."
    text = re.sub(r"\s[-–—|]\s*(?=[-–—|.]|$)", "", text)  # a separator with nothing after it
    text = re.sub(r"\s+$", "", text)
    text = text.strip(" ,;:-–—|\n")
    if original[:1].isupper() and text[:1].islower():
        text = text[:1].upper() + text[1:]
    return text


@lru_cache(maxsize=4096)
def scrub(text: str) -> str:
    """`text` without names, addresses, phone numbers or email addresses (see the module doc)."""
    if not text or not text.strip():
        return text
    out = EMAIL.sub("", text)
    out = _phones(out)
    out = UK_POSTCODE.sub("", out)
    out = ZIP_PLUS_FOUR.sub("", out)
    out = _handovers(out)
    out = _stand_ins(out)
    for pattern in ADDRESSES:
        out = pattern.sub("", out)
    out = _titled_names(out)
    if out == text:
        return text
    out = re.sub(r"\s(?:at|to|bei|an|à|op|w|on)\s*(?=[,.;]|$)", "", out)  # "…at" that lost its place
    return _tidy(out, text)


def scrubbed(checkpoint):
    """A copy of a Checkpoint (never saved) whose message, details and location are scrubbed."""
    clean = copy.copy(checkpoint)
    clean.message, clean.details, clean.location = (
        scrub(checkpoint.message),
        scrub(checkpoint.details),
        scrub(checkpoint.location),
    )
    clean.save = _refuse_save
    return clean


def _refuse_save(*args, **kwargs):
    raise RuntimeError("A scrubbed checkpoint is for display only.")
