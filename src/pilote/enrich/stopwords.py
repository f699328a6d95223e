"""The project's stop words for keyphrases, French and English, written by the team (not taken from a library).

Four kinds of words never start, end or sit inside a keyphrase: grammar words (articles, pronouns,
prepositions, conjunctions, auxiliaries and common verb forms, adverbs of degree and time), the chatter
of comment threads (greetings, thanks, "lol", "+1"), vague evaluative words ("super", "great") that
say how people feel, which sentiment already measures, and not what they talk about, and words that say when
or how much (days, weeks, months, numbers in words, units) or that any message may carry (generic verbs,
adverbs and adjectives). Each list also holds its words' plurals (`plurals`). Words are lower-case;
French elisions (l', d', qu'...) are removed before look-up, so "l'application" is looked up as "application".
Editing a list re-analyses every message's keyphrases (the lists' digest is part of the analyzer's version).
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


FRENCH = _words("""
a à ai aie aient aies ait alors as au aucun aucune aujourd'hui auquel aura aurai auraient aurais aurait auras
aurez auriez aurions aurons auront aussi autre autres aux auxquelles auxquels avaient avais avait avant avec
avez aviez avions avoir avons ayant ayez ayons

bah beaucoup bien bon bonne

c ça ca car ce ceci cela celle celles celui cependant certain certaine certaines certains ces cet cette ceux
chacun chacune chaque chez ci combien comme comment contre

d da dans de depuis des desquelles desquels dessous dessus deux devant devoir dit dois doit donc dont du duquel
durant

e elle elles en encore entre es est et été étaient étais était étant étiez étions être eu eue eues eûmes eurent
eus eut eux

faire fais fait faite faites fois font

gens

hier hors

ici il ils

j jamais je jusqu jusque

l la là laquelle le lequel les lesquelles lesquels leur leurs lorsque lui

m ma mais me même mêmes merci mes moi moins mon

n ne ni non nos notre nôtre nous

on ont ou où oui

par parce pas peu peut peuvent peux plus plusieurs pour pourquoi pourrait pouvoir puis puisque

qu quand quant que quel quelle quelles quelqu quelque quelques quels qui quoi

rien

s sa sans se sera serai seraient serais serait seras serez seriez serions serons seront ses si sien sienne
siennes siens soi soient sois soit sommes son sont sous suis sur

t ta tant te tes toi ton toujours tous tout toute toutes très trop tu

un une unes uns

va vais vas vers via voici voilà vont vos votre vôtre vous vraiment

y

ya

déjà après avant-hier demain maintenant ensuite enfin également surtout seulement presque assez tellement
vient viens venir dire dis disent fallait faut falloir mettre mis met prendre pris prend voir vu vois voit
savoir sais sait veux veut voulais voulait vouloir trouve trouver aller allé allez allons aime aimé aimerais
pense penser crois croire sûr sure autant ailleurs partout dedans dehors là-bas celui-ci celle-ci ceux-ci
quelqu'un quelque-chose chose choses truc trucs vrai vraie fois-ci
premier premiers première premières dernier derniers dernière dernières

bonjour bonsoir salut coucou hello merci mercii remerciements svp stp please lol mdr ptdr haha hahaha ahah
bravo félicitations ok okay oké d'accord dacc bisous cordialement

super génial géniale top nul nulle bof cool sympa excellent excellente parfait parfaite magnifique
incroyable horrible terrible énorme grave mieux pire meilleur meilleure bons bonnes mauvais mauvaise
""")

ENGLISH = _words("""
a about above after again against all am an and any are aren't as at

be because been before being below between both but by

can can't cannot could couldn't

did didn't do does doesn't doing don't down during

each

few for from further

get gets getting got gonna gotta

had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his how
how's

i i'd i'll i'm i've if in into is isn't it it's its itself

just

let's

me more most much must mustn't my myself

no nor not now

of off on once one only or other ought our ours ourselves out over own

really

same shall shan't she she'd she'll she's should shouldn't so some such

than that that's the their theirs them themselves then there there's these they they'd they'll they're
they've this those through to too

under until up us

very

was wasn't we we'd we'll we're we've were weren't what what's when when's where where's which while who who's
whom why why's will with won't would wouldn't

you you'd you'll you're you've your yours yourself yourselves

also always already anyone anything anyway around away back even ever every everyone everything go goes going
gone know knew make made many may maybe might need needs never new next nothing people please quite said say
says see seems since something still sure take think thing things though today told tomorrow tried try trying
use used want wanted way well went yesterday yet yes yeah

hi hello hey sorry thanks thank thx ty lol lmao haha hahaha omg ok okay congrats cheers bye pls plz

great good bad nice awesome amazing cool best better worst worse love loved like liked hate terrible
horrible excellent perfect fantastic wonderful lovely super
""")

# Tokens that are noise in any language: single letters are dropped by length, these by look-up.
COMMON = _words("http https www com org net html php amp quot nbsp rt via")

# Words that say when or how much, not what about: time words (days, months, seasons, "last week"), numbers
# written as words and units (the digits themselves already break phrases: "3 semaines" left "semaines").
FRENCH_TIME = _words("""
jour jours journée journées semaine semaines mois an ans année années heure heures minute minutes seconde secondes
instant moment moments temps fois hier demain aujourd'hui soir soirs soirée soirées matin matins matinée matinées midi
nuit nuits week-end week-ends weekend weekends lendemain veille quotidien quotidienne hebdomadaire mensuel
lundi mardi mercredi jeudi vendredi samedi dimanche
janvier février mars avril mai juin juillet août septembre octobre novembre décembre
printemps automne hiver saison saisons
bientôt tard tôt récemment désormais dorénavant longtemps autrefois souvent parfois rarement pendant début
prochain prochaine prochains prochaines passé passée passés passées précédent précédente actuel actuellement

zéro deux trois quatre cinq six sept huit neuf dix onze douze quinze vingt trente quarante cinquante soixante
cent cents mille million millions milliard milliards demi demie moitié dizaine dizaines centaine centaines
euro euros eur centime centimes kilomètre kilomètres kilometre km kms mètre mètres cm mm kilo kilos gramme
grammes litre litres watt watts volt volts kwh pourcent pour-cent
""")
ENGLISH_TIME = _words("""
day days daily week weeks weekly weekend weekends month months monthly year years yearly hour hours minute minutes
second seconds time times moment moments today yesterday tomorrow tonight morning mornings afternoon afternoons
evening evenings night nights
monday tuesday wednesday thursday friday saturday sunday
january february march april june july august september october november december
summer autumn winter season seasons
soon later lately recently ago early late earlier often sometimes usually last first previous current currently

zero two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty hundred
hundreds thousand thousands million millions billion half dozen
dollar dollars usd pound pounds gbp cent cents mile miles meter meters metre metres kilometer kilometers
kilometre kilometres inch inches foot feet lbs percent
""")

# Verbs, adverbs and adjectives that any message may carry, whatever it is about; and how people feel, which
# sentiment measures ("déçu", "happy").
FRENCH_GENERIC = _words("""
faisait faisais faisaient fera ferai ferait utilise utilises utilisent utiliser utilisé utilisée utilisés
roule roules roulent rouler roulé roulez roulons confirme confirmer confirmé savais savait su pensais pensait
pensé trouvé trouvée trouvais essayé essayer essaie essaye attends attend attendre attendu attendais arrive
arrivent arriver arrivé arrivée arrivés regarde regarder regardé passe passer passer passé devient devenir
devenu reste rester resté commence commencent commencer commencé mettez mettre racontez raconter expliqué
expliquer appris apprendre croisé changé changer acheté acheter achète lire lu suivre suivi porter décider
décidé recevoir reçu signaler compare comparer organise organiser sers sert servir verra verrai
pareil pareille loin près vite ensemble plutôt environ simplement franchement honnêtement complètement
entièrement carrément clairement juste quasi quasiment autour dès hélas sinon pourtant bref notamment
directement rapidement facilement totalement seul seule seuls seules
long longue petit petite petits petites grand grande grands grandes gros grosse vieux vieille nouveau nouvelle
nouveaux nouvelles ancien ancienne plein pleine content contente contents convaincu convaincue déçu déçue
dommage fier fière jaloux jalouse heureux heureuse intéressant intéressante rare normal normale clair claire
beau belle vive adore adorent adoré adorée partant partante accord
""")
ENGLISH_GENERIC = _words("""
tell tells thought bought buy buying using uses come comes came coming give gave given look looks looking looked
feel feels felt keep kept let put seem seemed agree agreed hope hoped wait waiting waited read happen happened
ask asked find found guess mean means meant start started
honestly mostly little bit lot lots kind sort pretty almost enough else instead actually basically literally
definitely probably totally simply seriously exactly especially finally together without
long old big small happy sad glad worth shame gorgeous welcome mine
""")


NOT_PLURALS = frozenset({"news", "goods"})  # words of their own, not the plural of a stop word


def plurals(words: frozenset[str]) -> frozenset[str]:
    """The words and their plurals in -s (and -x after -eau and -eu): "bonnes", "things" are no keyphrase either."""
    found = set(words)
    for word in words:
        if len(word) >= 3 and word.isalpha() and word[-1] not in "sxz":
            found.add(word + ("x" if word.endswith(("eau", "eu")) else "s"))
    return frozenset(found - NOT_PLURALS)


FRENCH_ALL = plurals(FRENCH | FRENCH_TIME | FRENCH_GENERIC)
ENGLISH_ALL = plurals(ENGLISH | ENGLISH_TIME | ENGLISH_GENERIC)
