/* The widget's words in French. Keys and placeholders as in locale-en.js (the reference). */

export default {
  // the panel
  'ui.title': "Discutez avec nous",
  'ui.open': "Ouvrir le chat",
  'ui.close': "Fermer le chat",
  'ui.conversation': "Conversation",
  'ui.empty': "Posez-nous vos questions — nous répondons en général en quelques minutes.",
  'ui.agentTyping': "Un conseiller écrit…",
  'ui.newChat': "Nouvelle discussion",
  'ui.tryAgain': "Réessayer",
  'ui.placeholder': "Écrivez votre message…",
  'ui.message': "Message",
  'ui.send': "Envoyer",
  'ui.agentMeta': "Support · {time}",
  'ui.unread': "{count} nouveau(x)",

  // the status line (chat-status)
  'status.idle': "Chat",
  'status.connecting': "Connexion…",
  'status.reconnecting': "Reconnexion…",
  'status.offline': "Hors ligne",
  'status.renewing': "Renouvellement de la connexion…",
  'status.notSignedIn': "Non connecté",
  'status.notConnected': "Pas de connexion",
  'status.guest': "Discussion en tant qu’invité · non vérifié",
  'status.signedInVerified': "Connecté · vérifié",
  'status.signedInAsVerified': "Connecté en tant que {name} · vérifié",

  // the conversation's state
  'state.waiting': "En attente d’un conseiller…",
  'state.active': "En discussion avec le support",
  'state.ended': "Cette discussion est terminée.",

  // a customer message's delivery state, under its bubble
  'delivery.pending': "Envoi…",
  'delivery.sent': "Envoyé",
  'delivery.delivered': "Remis",
  'delivery.failed': "Non envoyé",

  // sentences about the connection and the setup
  'msg.unreachable': "Le service de chat est injoignable pour le moment. Nous réessayons.",
  'msg.offline': "Vous semblez hors ligne. Nous nous reconnecterons dès votre retour en ligne.",
  'msg.notConfigured': "Ce chat est mal configuré (le code d’intégration n’a pas de data-app-id). Veuillez contacter le responsable du site.",
  'msg.serverTrouble': "Le service de chat rencontre des difficultés. Nous réessayons.",
  'msg.busy': "Le service de chat est très sollicité. Nous réessayons.",
  'msg.reauthFailed': "Votre connexion a expiré. Veuillez vous reconnecter pour continuer la discussion.",
  'msg.unsupported': "Ce navigateur ne peut pas faire fonctionner le chat (WebSocket ou fetch non pris en charge).",
  'msg.broken': "Un problème est survenu dans le chat. Veuillez recharger la page.",
  'msg.couldNotStart': "Le chat n’a pas pu démarrer ({detail}).",
  'msg.unexpectedAnswer': "réponse inattendue {status}",
  'msg.authFunctionMissing': "La connexion au chat n’est pas disponible sur cette page ({name} est introuvable).",
  'msg.tokenRefused': "Nous n’avons pas pu confirmer votre connexion ({reason}). Veuillez vous reconnecter.",
  'msg.unknownReason': "raison inconnue",
  'msg.somethingWrong': "Un problème est survenu ({code}).",
  'msg.unknownError': "erreur inconnue",

  // the chat service's error codes (errors.js)
  'error.origin_not_allowed': "Ce site n’est pas autorisé à utiliser ce chat.",
  'error.auth_required': "Veuillez vous connecter pour discuter avec nous.",
  'error.unknown_widget': "Ce chat est mal configuré (widget inconnu). Veuillez contacter le responsable du site.",
  'error.text_too_long': "Ce message est trop long (4 000 caractères au plus).",
  'error.empty_text': "Un message vide ne peut pas être envoyé.",
  'error.rate_limited': "Vous envoyez des messages très vite ; nous enverrons la suite dans un instant.",
  'error.conversation_ended': "Cette discussion est terminée.",
  'error.frame_too_large': "Ce message est trop volumineux pour être envoyé.",
  'error.forbidden': "Ce n’est pas autorisé dans ce chat.",
  'error.internal': "Un problème est survenu de notre côté. Nous réessayons.",
  'error.too_large': "Ce fichier est trop volumineux pour être envoyé.",
  'error.unsupported_media_type': "Ce type de fichier ne peut pas être envoyé (images, PDF et texte brut uniquement).",
  'error.bad_attachment': "Ce fichier n’a pas pu être joint au message.",

  // why a sign-in token was refused (invalid_token reasons)
  'reason.malformed': "le jeton de connexion est mal formé",
  'reason.unsupported_alg': "le jeton utilise un algorithme non pris en charge",
  'reason.forbidden_header': "le jeton contient un en-tête interdit",
  'reason.unknown_kid': "la clé de signature est inconnue",
  'reason.bad_signature': "la signature ne correspond pas",
  'reason.expired': "la connexion a expiré",
  'reason.not_yet_valid': "le jeton n’est pas encore valide",
  'reason.missing_claim': "il manque une information obligatoire dans le jeton",
  'reason.invalid_claim': "le jeton contient une information invalide",
  'reason.wrong_issuer': "le jeton provient du mauvais émetteur",
  'reason.key_unavailable': "la clé de signature du site n’a pas pu être récupérée",

  // waiting in a queue
  'queue.position': "Vous êtes numéro {position} dans la file d’attente.",
  'queue.positionWait': "Vous êtes numéro {position} dans la file d’attente (environ {minutes} min).",
  'queue.next': "Vous êtes le prochain dans la file d’attente.",

  // outside business hours
  'offline.heading': "Nous sommes absents pour le moment",
  'offline.body': "Laissez-nous un message et nous vous répondrons.",

  // attachments
  'attach.button': "Joindre un fichier",
  'attach.drop': "Déposez un fichier ici pour le joindre",
  'attach.uploading': "Envoi de {filename}…",
  'attach.remove': "Retirer {filename}",
  'attach.download': "Télécharger {filename}",
  'attach.failed': "Le fichier n’a pas pu être envoyé.",
  'attach.tooLarge': "Ce fichier est trop volumineux ({size} au plus).",
  'attach.unsupported': "Ce type de fichier ne peut pas être envoyé. Les images, les PDF et les fichiers texte sont acceptés.",

  // rating after the chat
  'rating.title': "Comment s’est passée votre discussion ?",
  'rating.star1': "1 étoile",
  'rating.star2': "2 étoiles",
  'rating.star3': "3 étoiles",
  'rating.star4': "4 étoiles",
  'rating.star5': "5 étoiles",
  'rating.comment': "Commentaire (facultatif)",
  'rating.submit': "Envoyer",
  'rating.thanks': "Merci pour votre avis !",
  'rating.pickScore': "Veuillez choisir de 1 à 5 étoiles.",

  // transcript by email
  'transcript.email': "M’envoyer la transcription par e-mail",
  'transcript.sent': "La transcription est en route vers votre adresse e-mail.",
  'transcript.failed': "La transcription n’a pas pu être envoyée. Réessayez."
};
