/* The widget's words in Dutch. Keys and placeholders as in locale-en.js (the reference). */

export default {
  // the panel
  'ui.title': "Chat met ons",
  'ui.open': "Chat openen",
  'ui.close': "Chat sluiten",
  'ui.conversation': "Gesprek",
  'ui.empty': "Vraag ons wat u wilt — we antwoorden meestal binnen een paar minuten.",
  'ui.agentTyping': "Een medewerker typt…",
  'ui.newChat': "Nieuwe chat starten",
  'ui.tryAgain': "Opnieuw proberen",
  'ui.placeholder': "Typ uw bericht…",
  'ui.message': "Bericht",
  'ui.send': "Versturen",
  'ui.agentMeta': "Support · {time}",
  'ui.unread': "{count} nieuw",

  // the status line (chat-status)
  'status.idle': "Chat",
  'status.connecting': "Verbinden…",
  'status.reconnecting': "Opnieuw verbinden…",
  'status.offline': "Offline",
  'status.renewing': "Aanmelding vernieuwen…",
  'status.notSignedIn': "Niet aangemeld",
  'status.notConnected': "Niet verbonden",
  'status.guest': "Chatten als gast · niet geverifieerd",
  'status.signedInVerified': "Aangemeld · geverifieerd",
  'status.signedInAsVerified': "Aangemeld als {name} · geverifieerd",

  // the conversation's state
  'state.waiting': "Wachten op een medewerker…",
  'state.active': "In gesprek met support",
  'state.ended': "Deze chat is beëindigd.",

  // a customer message's delivery state, under its bubble
  'delivery.pending': "Versturen…",
  'delivery.sent': "Verstuurd",
  'delivery.delivered': "Afgeleverd",
  'delivery.failed': "Niet verstuurd",

  // sentences about the connection and the setup
  'msg.unreachable': "De chatdienst is nu niet bereikbaar. We blijven het proberen.",
  'msg.offline': "U lijkt offline te zijn. We maken opnieuw verbinding zodra u weer online bent.",
  'msg.notConfigured': "Deze chat is niet goed ingesteld (het fragment heeft geen data-app-id). Neem contact op met de beheerder van de website.",
  'msg.serverTrouble': "De chatdienst heeft nu problemen. We blijven het proberen.",
  'msg.busy': "De chatdienst is nu erg druk. We blijven het proberen.",
  'msg.reauthFailed': "Uw aanmelding is verlopen. Meld u opnieuw aan om verder te chatten.",
  'msg.unsupported': "Deze browser kan de chat niet uitvoeren (WebSocket of fetch ontbreekt).",
  'msg.broken': "Er ging iets mis in de chat. Laad de pagina opnieuw om het nog eens te proberen.",
  'msg.couldNotStart': "De chat kon niet starten ({detail}).",
  'msg.unexpectedAnswer': "onverwacht antwoord {status}",
  'msg.authFunctionMissing': "Aanmelden voor de chat is op deze pagina niet beschikbaar ({name} is niet gevonden).",
  'msg.tokenRefused': "We konden uw aanmelding niet bevestigen ({reason}). Meld u opnieuw aan.",
  'msg.unknownReason': "onbekende reden",
  'msg.somethingWrong': "Er ging iets mis ({code}).",
  'msg.unknownError': "onbekende fout",

  // the chat service's error codes (errors.js)
  'error.origin_not_allowed': "Deze website mag deze chat niet gebruiken.",
  'error.auth_required': "Meld u aan om met ons te chatten.",
  'error.unknown_widget': "Deze chat is niet goed ingesteld (onbekende widget). Neem contact op met de beheerder van de website.",
  'error.text_too_long': "Dat bericht is te lang (hoogstens 4.000 tekens).",
  'error.empty_text': "Een leeg bericht kan niet worden verstuurd.",
  'error.rate_limited': "U verstuurt erg snel berichten; we versturen de rest zo meteen.",
  'error.conversation_ended': "Deze chat is beëindigd.",
  'error.frame_too_large': "Dat bericht is te groot om te versturen.",
  'error.forbidden': "Dat is in deze chat niet toegestaan.",
  'error.internal': "Er ging bij ons iets mis. We blijven het proberen.",
  'error.too_large': "Dat bestand is te groot om te versturen.",
  'error.unsupported_media_type': "Dit soort bestand kan niet worden verstuurd (alleen afbeeldingen, pdf en platte tekst).",
  'error.bad_attachment': "Dat bestand kon niet aan het bericht worden toegevoegd.",

  // why a sign-in token was refused (invalid_token reasons)
  'reason.malformed': "het aanmeldtoken is ongeldig opgebouwd",
  'reason.unsupported_alg': "het token gebruikt een niet-ondersteund algoritme",
  'reason.forbidden_header': "het token heeft een niet-toegestane header",
  'reason.unknown_kid': "de ondertekeningssleutel is onbekend",
  'reason.bad_signature': "de handtekening klopt niet",
  'reason.expired': "de aanmelding is verlopen",
  'reason.not_yet_valid': "het token is nog niet geldig",
  'reason.missing_claim': "het token mist een verplicht gegeven",
  'reason.invalid_claim': "het token bevat een ongeldig gegeven",
  'reason.wrong_issuer': "het token komt van de verkeerde uitgever",
  'reason.key_unavailable': "de ondertekeningssleutel van de website kon niet worden opgehaald",

  // waiting in a queue
  'queue.position': "U bent nummer {position} in de wachtrij.",
  'queue.positionWait': "U bent nummer {position} in de wachtrij (ongeveer {minutes} min).",
  'queue.next': "U bent de volgende in de wachtrij.",

  // outside business hours
  'offline.heading': "We zijn nu niet bereikbaar",
  'offline.body': "Laat een bericht achter, dan nemen we contact met u op.",

  // attachments
  'attach.button': "Bestand bijvoegen",
  'attach.drop': "Zet een bestand hier neer om het bij te voegen",
  'attach.uploading': "{filename} uploaden…",
  'attach.remove': "{filename} verwijderen",
  'attach.download': "{filename} downloaden",
  'attach.failed': "Het bestand kon niet worden geüpload.",
  'attach.tooLarge': "Dat bestand is te groot (hoogstens {size}).",
  'attach.unsupported': "Dit soort bestand kan niet worden verstuurd. Afbeeldingen, pdf- en tekstbestanden wel.",

  // rating after the chat
  'rating.title': "Hoe was uw chat?",
  'rating.star1': "1 ster",
  'rating.star2': "2 sterren",
  'rating.star3': "3 sterren",
  'rating.star4': "4 sterren",
  'rating.star5': "5 sterren",
  'rating.comment': "Opmerking (optioneel)",
  'rating.submit': "Versturen",
  'rating.thanks': "Bedankt voor uw feedback!",
  'rating.pickScore': "Kies 1 tot 5 sterren.",

  // transcript by email
  'transcript.email': "Stuur mij het gesprek per e-mail",
  'transcript.sent': "Het gesprek is onderweg naar uw e-mailadres.",
  'transcript.failed': "Het transcript kon niet worden verstuurd. Probeer het opnieuw."
};
