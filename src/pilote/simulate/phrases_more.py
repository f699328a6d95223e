"""Spanish, German and Italian material: the few members who write in another language (same slots)."""

from __future__ import annotations

from pilote.simulate.lexicon import Lexicon, words

ES = Lexicon(
    language="es",
    parts=(
        ("batería", "la batería", "de la batería"),
        ("freno trasero", "el freno trasero", "del freno trasero"),
        ("cargador", "el cargador", "del cargador"),
        ("cambio", "el cambio", "del cambio"),
        ("caballete", "el caballete", "del caballete"),
        ("pantalla", "la pantalla", "de la pantalla"),
        ("motor", "el motor", "del motor"),
        ("faro delantero", "el faro delantero", "del faro delantero"),
        ("guardabarros", "el guardabarros", "del guardabarros"),
        ("sillín", "el sillín", "del sillín"),
        ("cadena", "la cadena", "de la cadena"),
        ("candado", "el candado", "del candado"),
    ),
    slots={
        "city": words("Madrid Barcelona Valencia Sevilla Bilbao Zaragoza Málaga Granada"),
        "moment": ("esta mañana", "anoche", "el fin de semana", "la semana pasada", "el lunes"),
        "month": words("enero febrero marzo abril mayo junio septiembre octubre"),
        "friend": ("Pablo", "Lucía", "Javi"),
    },
    cores={
        "praise": (
            "Llevo {weeks} semanas con mi {product} y estoy encantada.",
            "{km} km con el {product} y ni un solo problema.",
            "Muy buena atención en la tienda de {city}, me lo explicaron todo con calma.",
        ),
        "question": (
            "¿Hacéis envíos a España? Me interesa el {product}.",
            "¿Cómo se cambia {the_part} del {product}?",
            "¿La garantía cubre {the_part}?",
        ),
        "complaint": (
            "Pedido {order} hace {weeks} semanas y todavía nada.",
            "{the_part} de mi {product} se rompió a los {km} km, es inaceptable.",
            "Nadie contesta en atención al cliente desde hace {days} días.",
        ),
        "suggestion": ("Estaría genial tener la web en español.", "¿Por qué no abrir una tienda en {city}?"),
        "chitchat": (
            "Paseo de {ride_km} km {moment} por {city}, qué gusto.",
            "¿Alguien más de {city} por aquí?",
            "Hoy he ido al trabajo en bici por primera vez.",
        ),
        "criticism": ("No está mal, pero {the_part} parece un poco frágil.", "El precio es bastante alto, la verdad."),
        "rude": ("Vaya servicio más lamentable.",),
        "answer": ("A mí me pasó lo mismo, hay que llevarlo al taller.", "Sí, envían a España en unos {days} días."),
        "thanks": ("¡Muchas gracias, {name}!", "Gracias por la respuesta, lo pruebo hoy."),
        "agree": ("Totalmente de acuerdo.", "¡Lo mismo digo!"),
        "same_problem": ("Me pasa lo mismo con {the_part}.", "Igual que yo, sigo esperando."),
    },
)

DE = Lexicon(
    language="de",
    parts=(
        ("Akku", "der Akku", "des Akkus"),
        ("Hinterradbremse", "die Hinterradbremse", "der Hinterradbremse"),
        ("Ladegerät", "das Ladegerät", "des Ladegeräts"),
        ("Schaltwerk", "das Schaltwerk", "des Schaltwerks"),
        ("Ständer", "der Ständer", "des Ständers"),
        ("Display", "das Display", "des Displays"),
        ("Motor", "der Motor", "des Motors"),
        ("Frontlicht", "das Frontlicht", "des Frontlichts"),
        ("Schutzblech", "das Schutzblech", "des Schutzblechs"),
        ("Sattel", "der Sattel", "des Sattels"),
        ("Kette", "die Kette", "der Kette"),
        ("Schloss", "das Schloss", "des Schlosses"),
    ),
    slots={
        "city": words("Berlin München Hamburg Köln Freiburg Leipzig Wien Zürich"),
        "moment": ("heute Morgen", "gestern Abend", "am Wochenende", "letzte Woche", "am Montag"),
        "month": words("Januar Februar März April Mai Juni September Oktober"),
        "friend": ("Lukas", "Anna", "Jonas"),
    },
    cores={
        "praise": (
            "Seit {weeks} Wochen fahre ich meinen {product} und bin total zufrieden.",
            "{km} km mit dem {product} und kein einziges Problem.",
            "Super Beratung im Laden in {city}, vielen Dank!",
        ),
        "question": (
            "Liefert ihr auch nach Deutschland?",
            "Wie wechselt man {the_part} beim {product}?",
            "Ist {the_part} von der Garantie abgedeckt?",
        ),
        "complaint": (
            "Bestellung {order} vor {weeks} Wochen aufgegeben und immer noch nichts.",
            "Nach {km} km ist {the_part} kaputt, das ist inakzeptabel.",
            "Seit {days} Tagen keine Antwort vom Kundenservice.",
        ),
        "suggestion": ("Eine deutsche Version der Website wäre toll.", "Warum nicht einen Händler in {city}?"),
        "chitchat": (
            "Schöne Runde {moment} rund um {city}, {ride_km} km.",
            "Jemand aus {city} hier?",
            "Heute zum ersten Mal mit dem Rad zur Arbeit gefahren.",
        ),
        "criticism": ("Ganz okay, aber {the_part} wirkt etwas billig.", "Der Preis ist ziemlich hoch."),
        "rude": ("So ein schlechter Service, unglaublich.",),
        "answer": ("Bei mir war es genauso, ab in die Werkstatt damit.", "Ja, sie liefern in etwa {days} Tagen."),
        "thanks": ("Vielen Dank, {name}!", "Danke für die Antwort, probiere ich heute aus."),
        "agree": ("Sehe ich genauso.", "Absolut einverstanden!"),
        "same_problem": ("Gleiches Problem hier.", "Bei mir auch, ich warte immer noch."),
    },
)

IT = Lexicon(
    language="it",
    parts=(
        ("batteria", "la batteria", "della batteria"),
        ("freno posteriore", "il freno posteriore", "del freno posteriore"),
        ("caricabatterie", "il caricabatterie", "del caricabatterie"),
        ("deragliatore", "il deragliatore", "del deragliatore"),
        ("cavalletto", "il cavalletto", "del cavalletto"),
        ("display", "il display", "del display"),
        ("motore", "il motore", "del motore"),
        ("faro anteriore", "il faro anteriore", "del faro anteriore"),
        ("parafango", "il parafango", "del parafango"),
        ("sella", "la sella", "della sella"),
        ("catena", "la catena", "della catena"),
        ("lucchetto", "il lucchetto", "del lucchetto"),
    ),
    slots={
        "city": words("Milano Torino Roma Bologna Firenze Napoli Verona Genova"),
        "moment": ("stamattina", "ieri sera", "nel fine settimana", "la settimana scorsa", "lunedì"),
        "month": words("gennaio febbraio marzo aprile maggio giugno settembre ottobre"),
        "friend": ("Marco", "Giulia", "Luca"),
    },
    cores={
        "praise": (
            "Ho la mia {product} da {weeks} settimane e sono contentissima.",
            "{km} km con la {product} e nessun problema.",
            "Ottima accoglienza nel negozio di {city}, grazie!",
        ),
        "question": (
            "Spedite anche in Italia?",
            "Come si cambia {the_part} della {product}?",
            "La garanzia copre {the_part}?",
        ),
        "complaint": (
            "Ordine {order} fatto {weeks} settimane fa e ancora niente.",
            "Dopo {km} km {the_part} si è rotto, inaccettabile.",
            "Nessuna risposta dal servizio clienti da {days} giorni.",
        ),
        "suggestion": ("Sarebbe bello avere il sito in italiano.", "Perché non aprire un negozio a {city}?"),
        "chitchat": (
            "Bel giro di {ride_km} km {moment} intorno a {city}.",
            "Qualcuno di {city} qui?",
            "Oggi sono andato al lavoro in bici per la prima volta.",
        ),
        "criticism": ("Non male, ma {the_part} sembra un po' fragile.", "Il prezzo è piuttosto alto."),
        "rude": ("Che servizio pessimo, davvero.",),
        "answer": ("Anche a me è successo, bisogna portarla in officina.", "Sì, spediscono in circa {days} giorni."),
        "thanks": ("Grazie mille, {name}!", "Grazie per la risposta, provo oggi."),
        "agree": ("Sono completamente d'accordo.", "Anche per me!"),
        "same_problem": ("Stesso problema qui.", "Anche a me, sto ancora aspettando."),
    },
)
