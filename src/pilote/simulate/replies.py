"""The demo team's saved replies, in French and English, so that the composer has something to offer."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pilote.accounts.audit import Actor
from pilote.inbox import replies
from pilote.models import SavedReply

ACTOR = Actor("demo")
SAVED = (
    replies.Draft("merci", "Merci pour votre message",
                  "Bonjour {{author.name}},\n\nmerci pour votre message ! Nous regardons cela et revenons vers vous "
                  "très vite.\n\n{{agent.name}}, pour l'équipe {{workspace.name}}", "fr", True),
    replies.Draft("livraison", "Délais de livraison",
                  "Bonjour {{author.name}}, nos vélos sont livrés en 5 à 8 jours ouvrés ; le suivi arrive par "
                  "e-mail dès l'expédition. Écrivez-nous en message privé avec votre numéro de commande si "
                  "le délai est dépassé.", "fr", True),
    replies.Draft("sav", "Service après-vente",
                  "Bonjour {{author.name}}, désolés pour ce souci. Le plus simple : passez chez un revendeur "
                  "agréé ou écrivez au service après-vente avec une photo, nous prenons la réparation en charge "
                  "pendant la garantie.", "fr", True),
    replies.Draft("thanks", "Thanks for your message",
                  "Hi {{author.name}},\n\nthanks for reaching out! We are looking into it and will get back to "
                  "you shortly.\n\n{{agent.name}}, for the {{workspace.name}} team", "en", True),
    replies.Draft("delivery", "Delivery times",
                  "Hi {{author.name}}, our bikes ship within 5 to 8 working days and the tracking link comes by "
                  "e-mail. Send us a direct message with your order number if it is late.", "en", True),
)  # fmt: skip


def seed(engine: Engine, workspace_id: int) -> int:
    """Add the demo's saved replies that are missing (a re-run adds nothing); how many were added."""
    with Session(engine) as session, session.begin():
        have = set(session.scalars(select(SavedReply.shortcut).where(SavedReply.workspace_id == workspace_id)))
        added = [d for d in SAVED if d.shortcut not in have]
        for draft in added:
            replies.create(session, workspace_id, draft, ACTOR, "admin")
    return len(added)
