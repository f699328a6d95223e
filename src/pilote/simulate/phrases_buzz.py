"""The bad buzz's lines, by language and intent: the crisis vocabulary (#LumenGate, the battery latch)."""

from __future__ import annotations

from pilote.simulate.lexicon import Templates

BUZZ: dict[str, dict[str, Templates]] = {
    "fr": {
        "complaint": (
            "La batterie de mon {product} s'est décrochée en roulant, exactement comme dans la vidéo de @LucieEnSelle."
            " {tag}",
            "Le verrou de batterie du {product} est défectueux et @VeloLumen fait de l'humour ? Sérieusement ? {tag}",
            "J'ai vérifié mon {product} : le loquet de batterie a du jeu. Je ne roule plus avec tant qu'il n'y a pas de"
            " rappel. {tag}",
            "Une batterie de 3 kg qui tombe en pleine rue à {city}, ça aurait pu blesser quelqu'un. {tag}",
            "Rappel du {product} quand ? On attend une vraie réponse, pas des blagues. {tag}",
            "Le clip de la batterie a cassé {moment}, je l'ai rattrapée de justesse. {tag}",
            "Client depuis trois ans, et cette réponse de @VeloLumen me donne envie de revendre mon vélo. {tag}",
            "Mon {product} est à l'arrêt : la batterie se déclipse à chaque nid-de-poule. {tag}",
        ),
        "criticism": (
            "« Pensez à bien clipser » : quel mépris pour vos clients. {tag}",
            "Bravo la com' de @VeloLumen, un modèle de ce qu'il ne faut pas faire. {tag}",
            "Je n'achèterai plus chez eux, c'est dommage, j'aimais bien la marque. {tag}",
            "Répondre avec un clin d'œil à un problème de sécurité… c'est honteux. {tag}",
            "Les excuses, c'est pour quand ? {tag}",
        ),
        "rude": ("Des guignols. Un défaut de sécurité et ils font les malins. {tag}", "Vous êtes pathétiques. {tag}"),
        "question": (
            "C'est quoi cette histoire de {tag} ? Quelqu'un peut résumer ?",
            "Les {product} achetés en {month} sont concernés aussi ? {tag}",
            "Est-ce qu'il y a un rappel officiel pour le {product} ? {tag}",
        ),
        "praise": (
            "Mon {product} a {km} km et la batterie n'a jamais bougé, on se calme. {tag}",
            "Une erreur de com', ça arrive. Attendons leur réponse avant de crier au scandale.",
        ),
        "same_problem": (
            "Pareil sur mon {product}, le loquet est fendu. {tag}",
            "Moi aussi ! Batterie tombée {moment} à {city}. {tag}",
        ),
    },
    "en": {
        "complaint": (
            "The battery on my {product} came off mid-ride, exactly like in @LucieEnSelle's video. {tag}",
            "The {product} battery latch is faulty and @VeloLumen thinks it's funny? Seriously? {tag}",
            "Checked my {product}: the battery latch wobbles. Not riding it until there's a recall. {tag}",
            "A 3 kg battery dropping onto the road in {city} could hurt someone. {tag}",
            "When's the {product} recall? We want a real answer, not jokes. {tag}",
            "The battery clip snapped {moment}, caught it just in time. {tag}",
            "Customer for three years and that reply from @VeloLumen makes me want to sell my bike. {tag}",
            "My {product} is off the road: the battery pops out on every pothole. {tag}",
        ),
        "criticism": (
            "'Remember to click it in': what contempt for your customers. {tag}",
            "Great comms from @VeloLumen, a textbook case of what not to do. {tag}",
            "Won't buy from them again, shame, I liked the brand. {tag}",
            "Answering a safety issue with a winky face… shameful. {tag}",
            "Where's the apology? {tag}",
        ),
        "rude": ("Clowns. A safety defect and they crack jokes. {tag}", "Pathetic. {tag}"),
        "question": (
            "What's this {tag} thing? Can someone sum it up?",
            "Are the {product} bikes bought in {month} affected too? {tag}",
            "Is there an official recall for the {product}? {tag}",
        ),
        "praise": (
            "My {product} has {km} km and the battery never moved, calm down everyone. {tag}",
            "A comms blunder happens. Let's wait for their answer before crying scandal.",
        ),
        "same_problem": (
            "Same on my {product}, the latch is cracked. {tag}",
            "Me too! Battery fell off {moment} in {city}. {tag}",
        ),
    },
    "es": {"complaint": ("La batería de mi {product} se soltó en plena calle. Inaceptable. {tag}",)},
    "de": {"complaint": ("Der Akku meines {product} ist während der Fahrt herausgefallen. {tag}",)},
    "it": {"complaint": ("La batteria della mia {product} si è staccata in strada. {tag}",)},
}
