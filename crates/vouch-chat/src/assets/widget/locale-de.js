/* The widget's words in German. Keys and placeholders as in locale-en.js (the reference). */

export default {
  // the panel
  'ui.title': "Chatten Sie mit uns",
  'ui.open': "Chat öffnen",
  'ui.close': "Chat schließen",
  'ui.conversation': "Unterhaltung",
  'ui.empty': "Fragen Sie uns alles – wir antworten meist innerhalb weniger Minuten.",
  'ui.agentTyping': "Ein Mitarbeiter schreibt…",
  'ui.newChat': "Neuen Chat beginnen",
  'ui.tryAgain': "Erneut versuchen",
  'ui.placeholder': "Nachricht eingeben…",
  'ui.message': "Nachricht",
  'ui.send': "Senden",
  'ui.agentMeta': "Support · {time}",
  'ui.unread': "{count} neu",

  // the status line (chat-status)
  'status.idle': "Chat",
  'status.connecting': "Verbindung wird hergestellt…",
  'status.reconnecting': "Verbindung wird wiederhergestellt…",
  'status.offline': "Offline",
  'status.renewing': "Anmeldung wird erneuert…",
  'status.notSignedIn': "Nicht angemeldet",
  'status.notConnected': "Nicht verbunden",
  'status.guest': "Chat als Gast · nicht verifiziert",
  'status.signedInVerified': "Angemeldet · verifiziert",
  'status.signedInAsVerified': "Angemeldet als {name} · verifiziert",

  // the conversation's state
  'state.waiting': "Warten auf einen Mitarbeiter…",
  'state.active': "Im Chat mit dem Support",
  'state.ended': "Dieser Chat ist beendet.",

  // a customer message's delivery state, under its bubble
  'delivery.pending': "Wird gesendet…",
  'delivery.sent': "Gesendet",
  'delivery.delivered': "Zugestellt",
  'delivery.failed': "Nicht gesendet",

  // sentences about the connection and the setup
  'msg.unreachable': "Der Chat-Dienst ist gerade nicht erreichbar. Wir versuchen es weiter.",
  'msg.offline': "Sie scheinen offline zu sein. Wir verbinden uns wieder, sobald Sie online sind.",
  'msg.notConfigured': "Dieser Chat ist nicht richtig eingerichtet (dem Snippet fehlt data-app-id). Bitte wenden Sie sich an den Betreiber der Website.",
  'msg.serverTrouble': "Der Chat-Dienst hat gerade Probleme. Wir versuchen es weiter.",
  'msg.busy': "Der Chat-Dienst ist gerade ausgelastet. Wir versuchen es weiter.",
  'msg.reauthFailed': "Ihre Anmeldung ist abgelaufen. Bitte melden Sie sich erneut an, um weiterzuchatten.",
  'msg.unsupported': "Dieser Browser kann den Chat nicht ausführen (ihm fehlt WebSocket- oder fetch-Unterstützung).",
  'msg.broken': "Im Chat ist etwas schiefgelaufen. Bitte laden Sie die Seite neu.",
  'msg.couldNotStart': "Der Chat konnte nicht starten ({detail}).",
  'msg.unexpectedAnswer': "unerwartete Antwort {status}",
  'msg.authFunctionMissing': "Die Anmeldung für den Chat ist auf dieser Seite nicht verfügbar ({name} wurde nicht gefunden).",
  'msg.tokenRefused': "Wir konnten Ihre Anmeldung nicht bestätigen ({reason}). Bitte melden Sie sich erneut an.",
  'msg.unknownReason': "unbekannter Grund",
  'msg.somethingWrong': "Etwas ist schiefgelaufen ({code}).",
  'msg.unknownError': "unbekannter Fehler",

  // the chat service's error codes (errors.js)
  'error.origin_not_allowed': "Diese Website darf diesen Chat nicht verwenden.",
  'error.auth_required': "Bitte melden Sie sich an, um mit uns zu chatten.",
  'error.unknown_widget': "Dieser Chat ist nicht richtig eingerichtet (unbekanntes Widget). Bitte wenden Sie sich an den Betreiber der Website.",
  'error.text_too_long': "Diese Nachricht ist zu lang (höchstens 4.000 Zeichen).",
  'error.empty_text': "Eine leere Nachricht kann nicht gesendet werden.",
  'error.rate_limited': "Sie senden sehr schnell; den Rest senden wir gleich.",
  'error.conversation_ended': "Dieser Chat ist beendet.",
  'error.frame_too_large': "Diese Nachricht ist zu groß zum Senden.",
  'error.forbidden': "Das ist in diesem Chat nicht erlaubt.",
  'error.internal': "Bei uns ist etwas schiefgelaufen. Wir versuchen es weiter.",
  'error.too_large': "Diese Datei ist zu groß zum Senden.",
  'error.unsupported_media_type': "Diese Art von Datei kann nicht gesendet werden (nur Bilder, PDF und reiner Text).",
  'error.bad_attachment': "Diese Datei konnte nicht an die Nachricht angehängt werden.",

  // why a sign-in token was refused (invalid_token reasons)
  'reason.malformed': "das Anmelde-Token ist fehlerhaft",
  'reason.unsupported_alg': "das Token verwendet einen nicht unterstützten Algorithmus",
  'reason.forbidden_header': "das Token hat einen unzulässigen Header",
  'reason.unknown_kid': "der Signaturschlüssel ist unbekannt",
  'reason.bad_signature': "die Signatur stimmt nicht",
  'reason.expired': "die Anmeldung ist abgelaufen",
  'reason.not_yet_valid': "das Token ist noch nicht gültig",
  'reason.missing_claim': "dem Token fehlt eine erforderliche Angabe",
  'reason.invalid_claim': "das Token enthält eine ungültige Angabe",
  'reason.wrong_issuer': "das Token stammt vom falschen Aussteller",
  'reason.key_unavailable': "der Signaturschlüssel der Website konnte nicht abgerufen werden",

  // waiting in a queue
  'queue.position': "Sie sind Nummer {position} in der Warteschlange.",
  'queue.positionWait': "Sie sind Nummer {position} in der Warteschlange (etwa {minutes} Min.).",
  'queue.next': "Sie sind als Nächstes an der Reihe.",

  // outside business hours
  'offline.heading': "Wir sind gerade nicht erreichbar",
  'offline.body': "Hinterlassen Sie eine Nachricht, wir melden uns bei Ihnen.",

  // attachments
  'attach.button': "Datei anhängen",
  'attach.drop': "Datei hier ablegen, um sie anzuhängen",
  'attach.uploading': "{filename} wird hochgeladen…",
  'attach.remove': "{filename} entfernen",
  'attach.download': "{filename} herunterladen",
  'attach.failed': "Die Datei konnte nicht hochgeladen werden.",
  'attach.tooLarge': "Diese Datei ist zu groß (höchstens {size}).",
  'attach.unsupported': "Diese Art von Datei kann nicht gesendet werden. Bilder, PDF- und Textdateien gehen.",

  // rating after the chat
  'rating.title': "Wie war Ihr Chat?",
  'rating.star1': "1 Stern",
  'rating.star2': "2 Sterne",
  'rating.star3': "3 Sterne",
  'rating.star4': "4 Sterne",
  'rating.star5': "5 Sterne",
  'rating.comment': "Kommentar (optional)",
  'rating.submit': "Absenden",
  'rating.thanks': "Vielen Dank für Ihr Feedback!",
  'rating.pickScore': "Bitte wählen Sie 1 bis 5 Sterne.",

  // transcript by email
  'transcript.email': "Verlauf per E-Mail senden",
  'transcript.sent': "Der Verlauf ist unterwegs an Ihre E-Mail-Adresse.",
  'transcript.failed': "Das Protokoll konnte nicht gesendet werden. Bitte versuchen Sie es erneut."
};
