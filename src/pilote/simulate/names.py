"""Names, handles and e-mail addresses for the demo's people; every domain is a reserved .example one."""

from __future__ import annotations

import unicodedata
from random import Random

from pilote.simulate.lexicon import words

FIRST = {
    "fr": words(
        "Marie Julien Camille Nicolas Léa Thomas Chloé Mathieu Manon Antoine Sophie Hugo Inès Lucas Élodie "
        "Maxime Pauline Romain Sarah Guillaume Amélie Baptiste Clémence Quentin Laure Damien Océane Benoît "
        "Justine Yann Hélène Karim Nadia Sébastien Aurélie François Margaux Jérôme Zoé Loïc"
    ),
    "en": words(
        "Emma James Olivia Liam Charlotte Noah Amelia Oliver Sophia Harry Isla Jack Grace Ethan Chloe Daniel "
        "Lucy Ryan Hannah Matthew Megan Connor Abigail Dylan Ellie Owen Ava Nathan Zara Callum"
    ),
    "es": words("Lucía Pablo Carmen Javier Sofía Diego Elena Álvaro Marta Sergio"),
    "de": words("Lukas Anna Felix Lena Jonas Mia Paul Laura Tobias Jana"),
    "it": words("Giulia Marco Chiara Luca Francesca Matteo Sara Davide Elisa Simone"),
}
LAST = {
    "fr": words(
        "Martin Bernard Dubois Durand Lefèvre Moreau Laurent Simon Michel Garcia Roux Fournier Girard Bonnet "
        "Dupont Lambert Fontaine Rousseau Vincent Muller Lefebvre Faure André Mercier Blanc Guérin Boyer "
        "Chevalier Gauthier Perrin Tremblay Gagnon Côté Bouchard Pelletier Leroy Marchand Picard Renaud "
        "Benali"
    ),
    "en": words(
        "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans Walker White "
        "Roberts Green Hall Wood Jackson Clarke Murphy Kelly O'Brien Campbell Stewart MacDonald Patel Singh "
        "Nguyen Hughes"
    ),
    "es": words("García Fernández López Martínez Sánchez Pérez Gómez Ruiz Díaz Moreno"),
    "de": words("Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Koch"),
    "it": words("Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco"),
}
# Pseudonym stems of people who never show their name, by language.
NICKNAMES = {
    "fr": ["velotaf", "cyclo", "roue_libre", "pedale", "biclou", "guidon", "cargo", "randonneur", "petite_reine"],
    "en": ["pedalpusher", "commuter", "spokes", "cargo", "bikelane", "twowheels", "gravelgrinder", "urbanrider"],
}
PLACES = ("lyon", "nantes", "lille", "paris", "bordeaux", "rennes", "mtl", "quebec", "bxl", "geneve", "uk", "dub")
MAIL_DOMAINS = ("mail.example", "courriel.example", "post.example", "inbox.example", "webmail.example")


def ascii_slug(text: str, separator: str = "") -> str:
    """Lower-case ASCII letters and digits of `text`, words joined by `separator`."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = "".join(c if c.isalnum() else " " for c in plain).split()
    return separator.join(words)


def full_name(rng: Random, language: str) -> tuple[str, str]:
    """A first and a last name from the same language."""
    pool = language if language in FIRST else "en"
    return rng.choice(FIRST[pool]), rng.choice(LAST[pool])


def display_name(rng: Random, first: str, last: str) -> str:
    """How someone signs: full name, initial, or first name only."""
    style = rng.random()
    if style < 0.55:
        return f"{first} {last}"
    if style < 0.85:
        return f"{first} {last[0]}."
    return first


def handle(rng: Random, first: str, last: str, language: str) -> str:
    """A forum-style handle derived from the name, or a pseudonym."""
    style = rng.random()
    f, la = ascii_slug(first), ascii_slug(last)
    if style < 0.3:
        return f"{f}.{la}"
    if style < 0.5:
        return f"{f[0]}{la}{rng.randint(1, 99)}"
    if style < 0.7:
        return f"{f}_{rng.choice(PLACES)}"
    if style < 0.85:
        return f"{f}{la[:3]}{rng.randint(70, 99)}"
    stems = NICKNAMES.get(language, NICKNAMES["en"])
    return f"{rng.choice(stems)}_{f}"


def social_handle(rng: Random, forum_handle: str, first: str, last: str) -> str:
    """The same person's social handle: often the forum one, otherwise a variant."""
    if rng.random() < 0.5:
        return forum_handle.replace(".", "_")
    return f"{ascii_slug(first)}{ascii_slug(last)}{rng.choice(('', '_', ''))}{rng.randint(1, 999)}"


def email(rng: Random, first: str, last: str) -> str:
    """A plausible private address on a reserved domain."""
    local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}{rng.randint(1, 99)}"))
    return f"{ascii_slug(local, '.')}@{rng.choice(MAIL_DOMAINS)}"


def unique(candidate: str, taken: set[str]) -> str:
    """`candidate`, or it with the smallest number that makes it unused; records the result."""
    name, number = candidate, 1
    while name in taken:
        number += 1
        name = f"{candidate}{number}"
    taken.add(name)
    return name
