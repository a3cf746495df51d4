//! The default phrase tables, per language: requests for a person, and frustration markers.
//!
//! Written in the [phrase notation](crate::pattern) (`|` alternatives, `_` joining the words
//! of one alternative, `word*` prefix, `..` gap of up to 3 words or 4 CJK characters, `^`/`$`
//! start/end of the message), in normalised form: lower case and without accents ("pasame"
//! for "pásame", "mochte" for "möchte", "ss" for "ß"), which is what customers' text is turned
//! into before matching, accents typed or not. Written that way, a table can be screened
//! against a message without running the normaliser (a test keeps it so). Operators' phrases
//! may be written in any spelling. Every phrase of
//! every language is checked on every message: customers mix languages and a ticket's locale
//! is often wrong. Chinese is covered in simplified and traditional characters.
//!
//! The rules of thumb the tables follow, so that a mention is not a request:
//!
//! - a bare noun ("person", "agent", "Mitarbeiter", "担当者") never triggers on its own; it needs
//!   a verb of asking or speaking, an adjective like "real", or to be the whole message;
//! - verbs are listed in the forms used to ask (infinitive, imperative, present), not the past
//!   ("spoke to an agent", "habe … gesprochen", "hablé con" do not trigger);
//! - in CJK text, where phrases match inside words, phrases are long enough not to occur inside
//!   common words (`人工智能` "AI" does not contain a phrase, `扫地机器人` "robot vacuum" does not
//!   trigger "no robot").
//!
//! Frustration markers avoid single neutral words ("still", "todavía", "まだ", "아직" alone never
//! count); `!!!` and shouting are checked separately.

/// The default phrases of one language.
#[derive(Debug, Clone, Copy)]
pub struct Language {
    /// ISO 639-1 code.
    pub code: &'static str,
    /// Phrases that ask for a person (or doubt the bot).
    pub human: &'static [&'static str],
    /// Phrases that show frustration.
    pub frustration: &'static [&'static str],
}

/// Every language with default phrases.
pub const LANGUAGES: &[Language] = &[EN, DE, FR, ES, PT, IT, NL, ZH, JA, KO];

// Shared word lists, spliced into phrases with `concat!`.

macro_rules! en_who {
    () => {
        "human|humans|human_being|person|people|agent|agents|rep|reps|representative*|someone|somebody|anyone|anybody|operator*|manager*|supervisor*|staff|staff_member|employee*|advisor*|adviser*|customer_service|support_team|team_member"
    };
}
macro_rules! en_strong {
    () => {
        "human|humans|human_being|real_person|actual_person|live_person|real_human|agent|live_agent|rep|representative*|operator*|manager*|supervisor*|someone_real|somebody_real"
    };
}

const EN: Language = Language {
    code: "en",
    human: &[
        concat!("speak|talk|chat to|with|w .. ", en_who!()),
        concat!(
            "connect|transfer|put|pass|forward|route|escalate|hand|switch|redirect .. to|with|through .. ",
            en_who!()
        ),
        concat!(
            "get|give|find|bring|send|want|need|demand|request|requesting|wanting|needing|prefer|rather .. ",
            en_strong!()
        ),
        "real|actual|live|proper|genuine|living|physical human|humans|person|people|agent|operator|representative|rep|staff|being|beings|support",
        "human being|beings",
        "human agent*|operator*|representative*|rep|reps|support|help|assistance|staff|customer_service|advisor*|contact|response|reply|answer",
        "someone|somebody|anyone|anybody real|human|alive",
        "a human .. look|check|review|read|handle|respond|reply|answer|help|take_over",
        "anyone|anybody|someone|somebody there|listening|alive|reading_this|out_there|home",
        "is there .. human|humans|person|real_person|agent|someone|anyone|anybody|somebody|operator|people",
        "are_you|r_u .. bot|bots|chatbot|robot|machine|computer|ai|automated|human|real",
        "am i talking|chatting|speaking to|with .. bot|bots|chatbot|robot|machine|computer|ai|automated|human|real",
        "is_this|is_it|this_is .. bot|chatbot|automated|ai|a_real_person|a_human|human",
        "not|no|without|hate|don't_want|dont_want|do_not_want .. bot|bots|chatbot|chatbots|automated|canned",
        "not|no|without a|an|more robot|robots|machine|machines|ai",
        "don't_want|dont_want|do_not_want|no_longer_want .. talk|speak|chat to|with .. bot|bots|chatbot|robot|robots|machine|ai",
        "stop|enough|quit|tired_of|sick_of|fed_up_with|no_more .. bot|bots|chatbot|chatbots|robot|robots|automated|canned|ai|auto_reply|auto_replies|autoreply|autoreplies|template|templates",
        "call|phone|ring me|us back",
        "callback",
        "please|pls|plz|can_you|could_you|can_someone|could_someone|would_you|can_somebody|kindly call|phone|ring me|us",
        "give me|us a call|ring|buzz",
        "request|want|need|like|requesting .. callback|phone_call|call_back|call_from",
        "call|phone|ring me|us asap|today|now|tomorrow|on|at|urgently|please",
        "call|phone|ring me|us $",
        "escalate|escalation|escalating",
        "human|humans|agent|representative|operator|live_agent|real_person|manager|supervisor please|pls|plz|now|asap|needed",
        "^ human|humans|agent|agents|representative|rep|operator|person|real_person|live_agent|live_person|someone|anyone|anybody|manager|supervisor $",
    ],
    frustration: &[
        "ridiculous*",
        "unacceptable",
        "useless",
        "still not|waiting|broken|nothing|no|haven't|havent|hasn't|hasnt|didn't|didnt|doesn't|doesnt|don't|dont|isn't|isnt|can't|cant|cannot|won't|wont|missing|unresolved",
        "third|fourth|fifth|3rd|4th|5th|umpteenth|tenth time",
        "again and again",
        "over and over",
        "fed up",
        "sick of|and_tired",
        "waste of time",
        "wasting my|our time",
        "worst",
        "not helpful|helping",
        "doesn't|doesnt|does_not|didn't|didnt|did_not|isn't|isnt|is_not help|helping",
        "you|you_guys|you_people keep",
        "angry",
        "furious",
        "frustrat*",
        "disgust*",
        "pathetic",
        "appalling",
        "outrageous",
        "disgrace*",
        "is_a_joke|absolute_joke|such_a_joke",
        "how many times",
        "terrible|horrible|awful|abysmal service|support|experience|company",
        "what_the_hell|wtf",
        "are_you_kidding|you're_kidding|you_must_be_kidding",
        "no_one|nobody .. respond*|answer*|help*|repl*",
    ],
};

macro_rules! de_who {
    () => {
        "mensch|menschen|person|personen|mitarbeiter*|mitarbeitende*|ansprechpartner*|berater*|kundenberater*|kundenbetreuer*|betreuer*|sachbearbeiter*|servicemitarbeiter*|kundendienstmitarbeiter*|kundenservicemitarbeiter*|supportmitarbeiter*|agent*|operator*|vorgesetzt*|chef|chefin|teamleiter*|jemand*|kollege*|kollegin*|supervisor*|manager*|zustandig*|verantwortlich*"
    };
}

const DE: Language = Language {
    code: "de",
    human: &[
        concat!(
            "mit .. ",
            de_who!(),
            " .. sprechen|reden|telefonieren|chatten|schreiben|verbinden|verbunden|kommunizieren|unterhalten"
        ),
        concat!(
            "sprechen|reden|spreche|rede|telefonieren|chatten|verbinden|verbinde|verbindet|weiterverbinden|durchstellen|chatte|schreibe .. mit|zu|an .. ",
            de_who!()
        ),
        concat!(
            "einen|eine|ihren|nen|ne .. ",
            de_who!(),
            " sprechen|erreichen"
        ),
        "jemand* sprechen|erreichen",
        "will|mochte|mochten|wurde|wollte|muss|kann|darf|bitte .. mitarbeiter*|mensch|menschen|ansprechpartner*|berater*|vorgesetzt*|jemand*|person sprechen|erreichen",
        "^ mitarbeiter*|mensch|menschen|ansprechpartner*|berater*|vorgesetzt* sprechen",
        "ist_da|sitzt_da|ist_hier|gibt_es_hier .. mensch|jemand*|mitarbeiter*|person",
        "echt*|real*|richtig*|lebendig*|wirklich*|menschlich* mensch|menschen|person|personen|mitarbeiter*|ansprechpartner*|berater*|agent*|kontakt|unterstutzung|support|hilfe|antwort",
        "einen|einem|nem|nen menschen",
        "aus fleisch und blut",
        "einen|einem|meinen|meinem|personlich*|zustandig*|direkt*|konkret*|festen|richtig* ansprechpartner*",
        "gibt es .. ansprechpartner*|mitarbeiter*|menschen|mensch|person|jemand*",
        "an|zu .. mitarbeiter*|menschen|ansprechpartner*|berater*|vorgesetzt* .. weiterleiten|weiterverbinden|durchstellen|verbinden|ubergeben|eskalieren",
        "bitte einen|eine|nen|ne|mit|ein .. mitarbeiter*|menschen|mensch|ansprechpartner*|berater*|person|vorgesetzt*|chef|chefin|agent*",
        "mitarbeiter*|ansprechpartner*|berater*|vorgesetzt*|menschen|mensch bitte|sofort|jetzt|dringend",
        "kein|keinen|keine|keinem bot|bots|roboter|chatbot|maschine|ki|computer|automat|automaten",
        "kein|keine|keinen automatische|automatischen|vorgefertigte|vorgefertigten antwort*|nachricht*|mails|e-mails|textbausteine",
        "nicht_mit|nicht_gegen .. bot|bots|roboter|chatbot|maschine|ki|computer",
        "bist_du|seid_ihr|sind_sie .. bot|roboter|chatbot|maschine|ki|computer|mensch|echt|echter_mensch|automat|eine_person",
        "ist_das|bin_ich_mit|rede_ich_mit|spreche_ich_mit|schreibe_ich_mit|chatte_ich_mit .. bot|roboter|chatbot|maschine|ki|mensch|automat",
        "bot|roboter|chatbot|ki stoppen|stopp|abschalten|ausschalten|beenden",
        "stopp|stop|schluss_mit|hor_auf|hort_auf|horen_sie_auf|aufhoren|genug .. bot|bots|roboter|chatbot|automat*|textbausteine",
        "um|bitte|wunsche|erbitte|mochte|hatte_gern|hatte_gerne|brauche|benotige .. ruckruf",
        "ruckruf bitte|erbeten|gewunscht|erwunscht",
        "rufen sie_mich|sie_uns|sie_bitte .. an|zuruck",
        "ruf|ruft mich .. an|zuruck",
        "mich|uns .. anrufen|zuruckrufen",
        "^ mensch|mitarbeiter|mitarbeiterin|ansprechpartner|berater|agent|operator|vorgesetzter|mitarbeiter_bitte|einen_mitarbeiter|einen_menschen $",
    ],
    frustration: &[
        "unverschamt*",
        "frechheit",
        "immer_noch|noch_immer nicht|kein|keine|keinen|nichts|nix",
        "inakzeptabel",
        "nicht akzeptabel",
        "lacherlich*",
        "argerlich",
        "verargert",
        "wutend",
        "stinksauer",
        "bin|sind .. sauer|genervt|frustriert|enttauscht|wutend",
        "frustrier*",
        "zum dritten|vierten|funften|x-ten|xten|wiederholten|hundertsten|tausendsten mal",
        "schon wieder nicht|kaputt|falsch|kein|keine|defekt|nichts",
        "zeitverschwendung",
        "katastroph*",
        "miserabel",
        "nutzlos",
        "sinnlos",
        "hilft_mir_nicht|hilft_nicht|hilft_nichts|hilft_mir_nichts|nicht_hilfreich|bringt_nichts|bringt_mir_nichts",
        "schlechteste*",
        "zumutung",
        "armutszeugnis",
        "sauerei",
        "verarsch*",
        "es_reicht|mir_reicht's|mir_reichts|reicht_mir|reicht_jetzt",
        "die nase voll",
        "nase gestrichen voll",
        "ein witz",
        "witzlos",
        "genervt",
        "nervt",
        "skandal*",
        "niemand .. antwortet|meldet|hilft|reagiert|ruft",
        "wie_oft_noch|wie_oft_muss_ich",
    ],
};

macro_rules! fr_who {
    () => {
        "humain|humaine|humains|etre_humain|personne|personne_reelle|vraie_personne|vrai_humain|conseill*|agent|agents|operateur*|operatrice*|interlocut*|quelqu'un|quelquun|qqn|qq1|responsable|superviseur*|manager*|technicien*|employe*|collaborat*"
    };
}

const FR: Language = Language {
    code: "fr",
    human: &[
        concat!(
            "parler|discuter|echanger|chatter|communiquer|causer a|au|aux|avec .. ",
            fr_who!()
        ),
        concat!("en_relation|en_contact avec .. ", fr_who!()),
        "joindre|contacter|avoir|passez|passer|transferez|transferer|redirigez|rediriger|orientez|orienter .. humain|humaine|etre_humain|conseill*|operateur*|operatrice*|interlocut*|superviseur*|vraie_personne|personne_reelle|vrai_humain|agent",
        "vrai|vraie|veritable|reel|reelle personne|humain|humaine|conseiller|conseillere|agent|interlocuteur|interlocutrice|etre_humain",
        "personne|agent|conseiller|conseillere|interlocuteur|operateur reel|reelle|humain|humaine|en_chair_et_en_os",
        "etre humain",
        "en chair et en os",
        "veux|voudrais|veut|souhaite|souhaiterais|aimerais|exige|demande|besoin_d|faut|faudrait .. humain|humaine|etre_humain|conseiller|conseillere|operateur|operatrice|interlocuteur|vraie_personne|superviseur|responsable",
        "etes-vous|es-tu|vous_etes|tu_es .. robot|bot|chatbot|machine|ia|humain|humaine|vraie_personne|automate|reel|reelle",
        "parle_a|parle_avec|parler_a|parler_avec|discute_avec|ecris_a .. robot|bot|chatbot|machine|ia|automate",
        "pas|plus|non un|une|a_un|avec_un|avec_le|au|de|du|d'un robot|bot|chatbot|machine|ia|automate",
        "arretez|arrete|arreter|stop|stoppez|stoppe|marre|assez|ras-le-bol .. robot|robots|bot|bots|chatbot|ia|reponses_automatiques|reponse_automatique|messages_automatiques",
        "rappelez-moi|rappelle-moi|me_rappeler|me_rappeller|me_recontacter|m'appeler|me_telephoner|appelez-moi|appelle-moi|telephonez-moi svp|stp|s'il|au|par|rapidement|vite|des_que|demain|aujourd'hui|asap|sur|merci",
        "rappelez-moi|me_rappeler|me_recontacter|m'appeler|appelez-moi|telephonez-moi $",
        "etre_rappele|etre_rappelee|rappel_telephonique|demande_de_rappel",
        "humain|conseiller|conseillere|operateur|operatrice|agent svp|stp|s'il_vous_plait|s'il_te_plait|please",
        "^ humain|conseiller|conseillere|agent|operateur|un_humain|un_conseiller|une_personne $",
    ],
    frustration: &[
        "inadmissible",
        "inacceptable|pas_acceptable",
        "toujours pas|rien|aucun|aucune|sans",
        "ras-le-bol",
        "marre",
        "honte|honteux|honteuse|scandale|scandaleux|scandaleuse|lamentable|pitoyable",
        "c'est_nul|vraiment_nul|service_nul",
        "ridicule",
        "n'importe_quoi",
        "enerve|enervee|enervant|exaspere|exasperee|exasperant|furieux|furieuse|en_colere|fache|fachee",
        "perte de temps",
        "troisieme|quatrieme|enieme|nieme fois",
        "le_pire|la_pire|pire_service|pire_experience",
        "moquez|moque|foutez|fout de_moi|du_monde|de_nous|de_ma_gueule",
        "decu|decue|decevant",
        "aucune reponse",
        "personne ne .. repond|rappelle|aide|reagit",
        "j'attends depuis",
        "ca suffit",
        "combien de fois",
    ],
};

macro_rules! es_who {
    () => {
        "persona|personas|humano|humana|humanos|ser_humano|agente|agentes|alguien|asesor|asesora|asesores|operador|operadora|ejecutivo|ejecutiva|representante|encargado|encargada|supervisor|supervisora|gerente|responsable|empleado|empleada|especialista|tecnico|tecnica"
    };
}

const ES: Language = Language {
    code: "es",
    human: &[
        concat!(
            "hablar|hablo|charlar|chatear|conversar|comunicarme|comunicarte|comunicar|contactar|contactarme|platicar con .. ",
            es_who!()
        ),
        concat!(
            "pasame|paseme|pasenme|comunicame|comuniqueme|comuniquenme|conectame|conecteme|conectenme|transfiereme|transfierame|transfieranme|derivame|derivenme|pongame|ponme|ponganme|transferir|transferirme|derivar|derivarme|pasar|pasarme .. con|a .. ",
            es_who!()
        ),
        "persona|personas|agente|humano|alguien|asesor|asesora|ejecutivo|ejecutiva|operador|operadora real|reales|de_verdad|humana|humano|en_vivo|de_carne_y_hueso",
        "ser humano",
        "atencion humana|personalizada|en_vivo|telefonica",
        "hay|habra alguien|algun_agente|algun_asesor|un_agente|un_asesor|un_humano",
        "quiero|necesito|quisiera|exijo|pido|solicito|deseo|queremos|necesitamos .. humano|humana|ser_humano|agente|asesor|asesora|operador|operadora|ejecutivo|ejecutiva|representante|supervisor|supervisora|gerente|persona_real|persona_de_verdad|alguien_real|atencion_humana",
        "eres|sos|es_usted un|una|de_verdad bot|robot|maquina|humano|humana|persona|ia|chatbot|contestadora",
        "eres|sos|es_usted humano|humana|real|una_persona|un_bot|un_robot|una_maquina|una_ia",
        "estoy_hablando|hablo|estoy_chateando|estoy_escribiendo con .. bot|robot|maquina|ia|chatbot|contestadora",
        "basta|ya_basta|deja|dejen|deje|dejar|no_mas|harto|harta|cansado|cansada|nada_de .. bot|bots|robot|robots|chatbot|maquina|respuestas_automaticas|respuesta_automatica|mensajes_automaticos",
        "no quiero|deseo .. bot|bots|robot|robots|chatbot|maquina|maquinas|respuestas_automaticas",
        "llamenme|llameme|llamame|marquenme|devuelvanme_la_llamada",
        "me llamen|llame|llamas|puede_llamar|pueden_llamar|podrian_llamar|podria_llamar|marquen|contacten_por_telefono",
        "devolver|devuelvan la llamada",
        "agente|humano|asesor|asesora|operador|operadora|ejecutivo|persona_real por_favor|porfa|porfavor|xfa|pls|ya",
        "^ agente|humano|asesor|operador|persona|un_agente|un_humano|una_persona $",
    ],
    frustration: &[
        "inaceptable",
        "todavia|aun no|nada|sin|nadie|ninguna|ningun",
        "sigue|sigo|siguen sin",
        "estoy|estamos|me_tienen|me_tiene .. harto|harta|hartos|hartas",
        "harto|harta|hartos|hartas de",
        "indignante|indignado|indignada",
        "verguenza",
        "ridiculo|ridicula",
        "pesimo|pesima|pesimos",
        "absurdo|absurda",
        "estoy|muy|estamos .. molesto|molesta|molestos",
        "enojado|enojada|enfadado|enfadada|furioso|furiosa|cabreado|cabreada",
        "tercera|cuarta|enesima vez",
        "perdida de tiempo",
        "no sirve|sirven|sirvio|ayuda|ayudan|me_ayuda|me_ayudan|me_ayudaron",
        "el_peor|la_peor|lo_peor|los_peores",
        "una y otra vez",
        "estafa|estafadores",
        "que_asco|da_asco",
        "nadie .. responde|contesta|ayuda|soluciona",
        "el colmo",
        "es increible que",
        "no puede ser",
        "cuantas veces",
    ],
};

macro_rules! pt_who {
    () => {
        "pessoa|pessoas|humano|humana|humanos|ser_humano|atendente|atendentes|alguem|operador|operadora|consultor|consultora|gerente|supervisor|supervisora|responsavel|especialista|funcionario|funcionaria|agente|assistente_humano|tecnico|tecnica"
    };
}

const PT: Language = Language {
    code: "pt",
    human: &[
        concat!(
            "falar|conversar|falo|converso|comunicar|chatear|bater_papo com|c .. ",
            pt_who!()
        ),
        concat!("contatar|contactar .. ", pt_who!()),
        "passa|passe|passar|transfere|transfira|transferir|encaminha|encaminhe|encaminhar|chama|chame|chamar|coloca|coloque|colocar|conecta|conecte|conectar|direciona|direcione|direcionar .. atendente|atendentes|humano|humana|ser_humano|operador|operadora|consultor|consultora|gerente|supervisor|supervisora|agente|pessoa_real|pessoa_de_verdade|atendimento_humano",
        "pessoa|pessoas|atendente|atendimento|agente|humano|alguem|operador real|reais|de_verdade|humano|humana|ao_vivo|de_carne_e_osso",
        "ser humano",
        "atendimento humano|humanizado|pessoal|personalizado|ao_vivo",
        "atendido|atendida|atender por .. pessoa|humano|ser_humano|atendente|pessoa_real|gente",
        "quero|preciso|queria|gostaria|exijo|solicito|desejo .. atendente|atendentes|humano|humana|ser_humano|operador|operadora|consultor|consultora|gerente|supervisor|supervisora|pessoa_real|pessoa_de_verdade|atendimento_humano",
        "voce|vc|vcs|voces|tu|isso|isto e|eh|es .. robo|robos|bot|maquina|ia|humano|humana|pessoa_de_verdade|pessoa_real|gente_de_verdade",
        "estou_falando|to_falando|falando|conversando com .. robo|bot|maquina|ia|chatbot",
        "nao_quero|nao_aguento|chega_de|para_de|pare_de|parem_de|cansei_de|cansado_de|cansada_de|sem .. robo|robos|bot|bots|chatbot|maquina|resposta_automatica|respostas_automaticas|mensagem_automatica|mensagens_automaticas",
        "me liga|ligue|liguem|ligar|retorne|retornem|retornar|telefone|telefonem|telefonar",
        "liga_pra_mim|ligue_para_mim|ligar_para_mim|retorne_a_ligacao|retornar_a_ligacao|retornem_a_ligacao|retorno_por_telefone",
        "atendente|humano|operador|operadora|atendimento_humano por_favor|pf|pfv|pfvr|pls|agora|ja",
        "^ atendente|humano|operador|pessoa|um_atendente|um_humano|uma_pessoa $",
    ],
    frustration: &[
        "absurdo|absurda",
        "ainda nao|nada|sem|nenhum|nenhuma",
        "continua|continuo|sigo sem",
        "inaceitavel",
        "ridiculo|ridicula",
        "que_vergonha|uma_vergonha|vergonhoso|vergonhosa|falta_de_vergonha",
        "palhacada",
        "descaso",
        "pessimo|pessima",
        "horrivel",
        "cansado|cansada|farto|farta de",
        "to|estou|estamos .. irritado|irritada|revoltado|revoltada|indignado|indignada|nervoso|nervosa|bravo|brava|puto|puta",
        "revoltad*",
        "indignad*",
        "terceira|quarta|enesima vez",
        "perda de tempo",
        "nao resolve|resolvem|ajuda|ajudam|serve|servem|adianta",
        "o_pior|a_pior|pior_atendimento|pior_servico|pior_empresa",
        "lamentavel",
        "ninguem .. responde|resolve|ajuda|atende|retorna",
        "falta de respeito",
        "so_pode_ser_brincadeira|e_brincadeira",
        "quantas vezes",
    ],
};

macro_rules! it_who {
    () => {
        "operator*|operatric*|persona|persone|umano|umana|umani|essere_umano|qualcuno|consulent*|addett*|responsabil*|supervisor*|tecnico|agente|impiegat*|dipendent*|assistente_umano"
    };
}

const IT: Language = Language {
    code: "it",
    human: &[
        concat!(
            "parlare|parlo|chattare|conversare|comunicare|interloquire con|a|al|alla|all'|col .. ",
            it_who!()
        ),
        concat!(
            "passami|passatemi|passarmi|mi_passi|mi_passate|mettimi|mettetemi|mettermi|mi_metta|mi_mettete|trasferiscimi|trasferitemi|mi_trasferisca|trasferire|collegami|collegatemi|mi_colleghi|collegarmi .. ",
            it_who!()
        ),
        concat!("in contatto con .. ", it_who!()),
        "persona|persone vera|vere|reale|reali|umana|in_carne_e_ossa",
        "essere umano",
        "operatore|operatrice|assistente|assistenza|agente|supporto umano|umana|reale|vero|vera|in_carne_e_ossa",
        "qualcuno di_reale|di_vero|in_carne_e_ossa",
        "c'e|ce qualcuno|un_operatore|un'operatrice|un_umano|un_essere_umano",
        "voglio|vorrei|chiedo|esigo|desidero|pretendo|mi_serve|bisogno_di|serve .. operatore|operatrice|umano|essere_umano|persona_vera|persona_reale|consulente|responsabile|supervisore|assistenza_umana",
        "sei|siete|lei_e un|una|un' bot|robot|chatbot|macchina|ia|umano|persona|essere_umano",
        "sei|siete|lei_e umano|umana|umani|reale|vero|vera|una_persona_vera|una_persona_reale",
        "sto_parlando|parlo|sto_chattando|sto_scrivendo con .. bot|robot|chatbot|macchina|ia",
        "non_voglio|basta|smettila|smettetela|stop|niente .. bot|robot|chatbot|macchina|risposte_automatiche|risposta_automatica|messaggi_automatici",
        "richiamatemi|richiamami|richiamarmi|richiamarci|chiamatemi|chiamami|essere_richiamato|essere_richiamata|ricontattatemi|ricontattarmi",
        "mi richiami|richiamate|richiamiate|richiamerete|chiami|chiamate|potete_chiamare|potete_richiamare|puo_chiamare|puo_richiamare|ricontatti",
        "operatore|operatrice|umano|consulente per_favore|per_piacere|subito|pls",
        "^ operatore|operatrice|umano|persona|un_operatore|un_umano $",
    ],
    frustration: &[
        "inaccettabile|inammissibile",
        "ancora non|niente|nulla|nessun|nessuna",
        "non .. ancora arrivat*|ricevut*|rispost*|risolt*|rimborsat*|consegnat*|funziona",
        "assurdo|assurda",
        "che_vergogna|una_vergogna|vergognoso|vergognosa",
        "ridicolo|ridicola",
        "pessimo|pessima",
        "schifo",
        "arrabbiat*|furioso|furiosa|incazzat*|furibond*",
        "stufo|stufa|stufi",
        "terza|quarta|ennesima volta",
        "perdita_di_tempo|perdere_tempo",
        "non_serve_a_niente|non_serve_a_nulla",
        "presa_in_giro|prendete_in_giro|prendendo_in_giro",
        "scandaloso|scandalosa|scandalo",
        "il_peggior|la_peggior|il_peggiore|la_peggiore",
        "nessuno .. risponde|richiama|aiuta",
        "non e possibile che",
        "senza parole",
        "quante volte",
    ],
};

macro_rules! nl_who {
    () => {
        "medewerker|medewerkers|medewerkster|medewerksters|mens|mensen|persoon|personen|iemand|agent|operator|leidinggevende|manager|supervisor|klantenservicemedewerker*|servicemedewerker*|adviseur|adviseurs|collega|echt_persoon|echte_persoon|echt_mens|echte_mensen"
    };
}

const NL: Language = Language {
    code: "nl",
    human: &[
        concat!(
            "met .. ",
            nl_who!(),
            " .. spreken|praten|chatten|bellen|communiceren|overleggen|verbinden|doorverbinden|contact"
        ),
        concat!(
            "spreken|praten|chatten|bellen|verbind|verbinden|doorverbinden|overleggen|spreek|praat|chat .. met .. ",
            nl_who!()
        ),
        "een|de .. medewerker|medewerkster|mens|persoon|leidinggevende|manager|adviseur spreken|bereiken|aan_de_lijn|aan_de_telefoon",
        "iemand .. spreken|bereiken|aan_de_lijn",
        "echt|echte|levend|levende|fysiek|fysieke persoon|mens|mensen|medewerker|medewerkster|stem",
        "menselijk|menselijke hulp|contact|medewerker|medewerkster|antwoord|persoon",
        "van vlees en bloed",
        "ben_je|bent_u|ben_jij|praat_ik_met|spreek_ik_met|chat_ik_met .. bot|robot|chatbot|computer|mens|echt_persoon|echte_persoon|automaat",
        "is_dit_een|is_dit|is_het_een bot|robot|chatbot|computer|automaat",
        "geen bot|robot|chatbot|computer|automaat|automatisch_antwoord|standaardantwoord|standaardantwoorden|automatische_antwoorden",
        "niet_met|niet_tegen|stop_met|stop_de|klaar_met|genoeg_van .. bot|bots|robot|chatbot|computer|automaat",
        "terugbellen|terugbelt|terug_bellen|terugbelverzoek|belverzoek",
        "bel|belt .. me|mij terug",
        "bel_me|bel_mij|belt_u_me|belt_u_mij",
        "mij|me .. bellen|terugbellen",
        "doorverbinden|doorverbind|doorverbindt|doorschakelen|doorzetten_naar",
        "medewerker|medewerkster|mens|persoon|leidinggevende graag|aub|a.u.b.|alsjeblieft|alstublieft|asjeblieft|svp|pls",
        "^ medewerker|mens|persoon|een_medewerker|een_mens $",
    ],
    frustration: &[
        "belachelijk",
        "nog_steeds|nog_altijd niet|geen|niks|niets|zonder",
        "alweer|weer niet|kapot|fout|mis|stuk",
        "onacceptabel|onaanvaardbaar",
        "schandalig|schande",
        "waardeloos|waardeloze",
        "ben|zijn het|er zat|beu|spuugzat|kotsbeu",
        "ben er klaar mee",
        "spuugzat",
        "boos|woedend|kwaad|pissig|geirriteerd|geergerd|ergerlijk|gefrustreerd|frustrerend",
        "derde|vierde|zoveelste|x-ste keer",
        "tijdverspilling|verspilling_van_tijd|zonde_van_mijn_tijd",
        "slechtste|slechtst",
        "lachertje|om_te_huilen|wat_een_grap",
        "hopeloos",
        "teleurgesteld|teleurstellend",
        "niemand .. reageert|antwoordt|belt|helpt",
        "hoe_vaak_nog|hoe_vaak_moet_ik",
    ],
};

const ZH: Language = Language {
    code: "zh",
    human: &[
        "转人工|轉人工|转接人工|轉接人工|接人工|找人工|要人工|请人工|請人工|叫人工|换人工|換人工|上人工|真人|活人|真正的人|转驳|轉駁|搵真人",
        "人工 客服|服务|服務|坐席|座席|处理|處理|介入|回复|回覆|回答|帮|幫|来|來|在吗|在嗎",
        "转接|轉接 .. 人工|客服|真人|专员|專員|经理|經理|主管",
        "找|要|叫|请|請|让|讓|换|換|转|轉|接|搵 .. 客服|人工|真人|客服人员|客服人員|工作人员|工作人員|专员|專員|经理|經理|主管|负责人|負責人|领导|領導|上级|上級|老板|老闆|管理员|管理員|人类|人類|活人",
        "跟|和|与|與|同 .. 真人|人工|人类|人類|活人|客服人员|客服人員|工作人员|工作人員|经理|經理|主管|负责人|負責人 .. 说话|說話|聊|谈|談|沟通|溝通|对话|對話|交流|通话|通話|讲|講",
        "你是|您是|你们是|你們是|是不是 .. 机器人|機器人|ai|bot|自动回复|自動回覆|真人|人工智能|人类|人類",
        "是机器人吗|是機器人嗎|是机器人嘛|机器人回复|機器人回覆|机器人在回|自动回复吗|自動回覆嗎",
        "不要|别|別|不想|停止|不用|别再|別再|受够|受夠|够了|夠了|讨厌|討厭|不跟|不和|不要再 机器人|機器人|自动回复|自動回覆|机器回复|機器回覆|智能客服",
        "不要|别|別|不想|不用|别再|別再|不要再 跟|和|用|让|讓|给我|給我|再 机器人|機器人|机器|機器|自动回复|自動回覆|智能客服|ai",
        "回电话|回電話|回个电话|回個電話|给我打电话|給我打電話|打电话给我|打電話給我|给我回电|給我回電|致电我|致電我|打给我|打給我|电话联系我|電話聯繫我|电联|電聯",
        "请|請|麻烦|麻煩|尽快|盡快 .. 联系我|聯繫我|联络我|聯絡我|回电|回電|致电|致電",
        "^ 人工|客服|人工人工|真人 $",
    ],
    frustration: &[
        "离谱|離譜|气死|氣死|还没有|還沒有|投诉|投訴|差劲|差勁|无语|無語|受够了|受夠了|什么破|什麼破|坑人|骗子|騙子|一直没|一直沒|怎么还|怎麼還|为什么还没|為什麼還沒|到现在还|到現在還|第三次|第四次|又一次|浪费时间|浪費時間|生气|生氣|愤怒|憤怒|失望|搞什么|搞什麼|不像话|不像話|烦死|煩死|答非所问|答非所問|忍无可忍|忍無可忍|岂有此理|豈有此理|真垃圾",
        "太 离谱|離譜|差|过分|過分|慢了|垃圾",
        "没人|沒人 管|理|回",
        "到底 要|什么时候|什麼時候",
        "垃圾 服务|服務|客服|公司|产品|產品|东西|東西",
        "多少次|几次了|幾次了",
    ],
};

const JA: Language = Language {
    code: "ja",
    human: &[
        "オペレータ|生身の人|本物の人|実在の人|リアルな人",
        "有人 対応|チャット|サポート|窓口|での対応",
        "人間 の方|のスタッフ|の担当|さん",
        "人間|人|担当|スタッフ|責任者|上司|店長|マネージャー|社員|係の人|係の方|窓口の人|窓口の方|サポートの人|サポートの方|サポート|オペレータ .. と話したい|と話せ|と話させ|と話がしたい|と話をさせ|とお話し|と会話したい|と会話させ|と直接|に代わ|にかわ|に替わ|に変わって|につな|に繋|を出して|を出せ|を呼んで|を呼べ|をお願い|が対応してほしい|が対応して欲しい|に対応してほしい|に対応して欲しい|に対応してもらいたい|と電話で|と通話|に電話してほしい|に電話して欲しい|から電話してほしい|から電話して欲しい|から電話ください|から電話をください|から電話をお願い|から連絡ください|から連絡をください|から連絡してほしい|から折り返し",
        "ボット|ロボット|bot|ai|チャットボット|自動応答|自動返信|人工知能 ですか|でしょうか|なんですか|じゃないの|じゃないですか|ではないですか|と話して|と会話",
        "ボット|チャットボット|自動応答|自動返信|自動回答|機械的な回答|機械的な返信|機械的な対応|定型文|テンプレ はもう|はいい|はいらない|じゃなく|ではなく|じゃダメ|では解決しない|はやめて|をやめて|は結構|じゃ話にならない|では話にならない",
        "機械 じゃなく|ではなく|相手",
        "人間 ですか|なんですか|ですよね|じゃない|ではない|がいい|が良い|を出|を呼|に代|はいない|いない|いますか|の方いますか",
        "誰か人|人はいない|人はいますか|人いますか",
        "折り返し|お電話ください|お電話をください|お電話をお願い|お電話いただけ",
        "電話 してください|して下さい|してほしい|して欲しい|してもらえ|してくれ|ください|を下さい|をください|をお願い|いただけ|をいただけ|をもらえ|もらえ|をかけて|で話したい|で相談",
        "人間|担当者|担当の方|スタッフ|有人|オペレータ|人間の方 を希望|希望|でお願い|をお願い|お願いします|お願い|おねがい|プリーズ|頼む|たのむ",
        "^ 人間|担当者|有人|スタッフ|人 $",
    ],
    frustration: &[
        "ふざけ るな|んな|ないで|て|た",
        "いい加減|いいかげん にして|にしろ|な",
        "まだ ですか|届かない|届いてない|届いていない|届きません|来ない|来てない|来ていない|直らない|直ってない|返事|返信|連絡|返金",
        "いつまで 待て|待たせ|かかる|たっても",
        "何度|何回 も連絡|も問い合わせ|も電話|もお願い|目",
        "ひどい|酷い 対応|です|話",
        "ひどすぎ|酷すぎ|いつになったら|最悪|腹が立つ|腹立つ|腹立たしい|頭にくる|頭に来る|ムカつく|むかつく|イライラ|いらいら|三度目|三回目|ありえない|あり得ない|信じられない|話にならない|役に立たない|時間の無駄|怒っ|怒り|激怒|不愉快|呆れ|あきれ|うんざり|我慢の限界|誠意がない|誠意のない|納得できない|納得いかない",
        "3|4 度目|回目",
    ],
};

const KO: Language = Language {
    code: "ko",
    human: &[
        "사람|인간 과|이랑|하고|한테|에게 .. 통화하고|통화할|통화하게|통화_원|통화_부탁|통화_가능|통화해|통화_좀|얘기하고|얘기할|얘기하게|얘기_좀|이야기하고|이야기할|이야기하게|이야기_좀|대화하고|대화할|대화하게|말하고|말할|상담하고|상담할|상담받고|상담_받고|연결|채팅하고|채팅할",
        "상담원|상담사|상담직원|직원|담당자|매니저|책임자|관리자|상담_선생님|실제_사람|진짜_사람|사람_상담원 .. 연결|통화하고|통화할|통화하게|통화_원|통화_부탁|통화_가능|통화해|얘기하고|얘기할|이야기하고|이야기할|대화하고|대화할|말하고_싶|상담하고|상담받고|상담_받고|요청|있나요|없나요",
        "상담원|상담사|직원|담당자|매니저|책임자|관리자|사람 바꿔|불러|나와|부탁|으로_바꿔|로_바꿔|을_불러|를_불러|좀_바꿔|좀_불러|분_바꿔|분_불러|님_바꿔|님_불러|분으로_바꿔|님으로_바꿔|좀_연결|으로_연결|로_연결|을_연결|분_연결|님_연결|분_부탁|님_부탁|요",
        "실제_사람|진짜_사람|사람_상담원|사람_상담사|인간_상담원|진짜_상담원|사람이_직접|사람_맞아요|사람_맞나요|사람_맞으세요|사람_맞죠|사람인가요|사람이신가요|사람입니까",
        "봇|챗봇|자동응답|ai|인공지능 이에요|이세요|인가요|예요|이야|이지|이죠|입니까|이신가요|말고|아니고|아니라|그만|싫어|싫습니다|지겨",
        "로봇|기계 말고|아니고|아니라|그만|싫어|이세요|이신가요|인가요|랑_얘기|하고_얘기|랑_대화|하고_대화",
        "전화_주세요|전화_부탁|전화해_주세요|전화_좀|전화_주실|전화_바랍니다|전화_요망|전화로_연락|콜백|다시_전화|연락_주세요|연락_부탁|연락_바랍니다|전화_상담",
        "^ 상담원|상담사|사람|직원|상담원요|상담사요|상담원님|사람요 $",
    ],
    frustration: &[
        "짜증|열받|빡치|빡쳐|어이없|어이가_없|황당|최악|미치겠|몇_번째|세_번째|또_이래|또_이러|답답|실망|너무하|도대체",
        "화|화가 나요|나네|난다|납니다|나서|났|치밀",
        "말이 돼|됩|안",
        "장난 해|하|치",
        "아직도 .. 안|못|없|그대로",
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The tables are in normalised form, so the raw pre-screen is exact for them.
    #[test]
    fn tables_are_written_in_normalised_form() {
        let mut bad = Vec::new();
        for language in LANGUAGES {
            for phrase in language.human.iter().chain(language.frustration) {
                for alt in phrase.split([' ', '|']) {
                    let alt = alt.trim_start_matches('^').trim_end_matches(['$', '*']);
                    let latin = alt.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"_'-.".contains(&b)
                    });
                    let cjk = alt
                        .chars()
                        .all(|c| c == '_' || crate::normalize::is_plain_cjk(c));
                    if !(latin || cjk)
                        || crate::normalize(alt) != alt.replace(['_', '\'', '-', '.'], " ").trim()
                    {
                        bad.push(format!("{}: {alt:?} in {phrase:?}", language.code));
                    }
                }
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    #[test]
    fn every_language_has_both_tables_and_a_unique_code() {
        for (i, language) in LANGUAGES.iter().enumerate() {
            assert!(!language.human.is_empty(), "{}", language.code);
            assert!(!language.frustration.is_empty(), "{}", language.code);
            assert!(
                LANGUAGES[..i].iter().all(|l| l.code != language.code),
                "{}",
                language.code
            );
        }
        assert_eq!(LANGUAGES.len(), 10);
    }
}
