/* The widget's words in Spanish. Keys and placeholders as in locale-en.js (the reference). */

export default {
  // the panel
  'ui.title': "Chatea con nosotros",
  'ui.open': "Abrir el chat",
  'ui.close': "Cerrar el chat",
  'ui.conversation': "Conversación",
  'ui.empty': "Pregúntanos lo que quieras: solemos responder en pocos minutos.",
  'ui.agentTyping': "Un agente está escribiendo…",
  'ui.newChat': "Empezar un chat nuevo",
  'ui.tryAgain': "Reintentar",
  'ui.placeholder': "Escribe tu mensaje…",
  'ui.message': "Mensaje",
  'ui.send': "Enviar",
  'ui.agentMeta': "Soporte · {time}",
  'ui.unread': "{count} sin leer",

  // the status line (chat-status)
  'status.idle': "Chat",
  'status.connecting': "Conectando…",
  'status.reconnecting': "Reconectando…",
  'status.offline': "Sin conexión",
  'status.renewing': "Renovando el inicio de sesión…",
  'status.notSignedIn': "Sesión no iniciada",
  'status.notConnected': "Sin conectar",
  'status.guest': "Chateando como invitado · no verificado",
  'status.signedInVerified': "Sesión iniciada · verificado",
  'status.signedInAsVerified': "Sesión iniciada como {name} · verificado",

  // the conversation's state
  'state.waiting': "Esperando a un agente…",
  'state.active': "Chateando con soporte",
  'state.ended': "Este chat ha terminado.",

  // a customer message's delivery state, under its bubble
  'delivery.pending': "Enviando…",
  'delivery.sent': "Enviado",
  'delivery.delivered': "Entregado",
  'delivery.failed': "No enviado",

  // sentences about the connection and the setup
  'msg.unreachable': "No se puede contactar con el servicio de chat ahora mismo. Seguiremos intentándolo.",
  'msg.offline': "Parece que no tienes conexión. Volveremos a conectar cuando la recuperes.",
  'msg.notConfigured': "Este chat no está bien configurado (al fragmento le falta data-app-id). Ponte en contacto con el responsable del sitio.",
  'msg.serverTrouble': "El servicio de chat tiene problemas ahora mismo. Seguiremos intentándolo.",
  'msg.busy': "El servicio de chat está muy ocupado ahora mismo. Seguiremos intentándolo.",
  'msg.reauthFailed': "Tu sesión ha terminado. Vuelve a iniciar sesión para seguir chateando.",
  'msg.unsupported': "Este navegador no puede ejecutar el chat (no admite WebSocket o fetch).",
  'msg.broken': "Algo ha fallado en el chat. Recarga la página para volver a intentarlo.",
  'msg.couldNotStart': "No se pudo iniciar el chat ({detail}).",
  'msg.unexpectedAnswer': "respuesta inesperada {status}",
  'msg.authFunctionMissing': "El inicio de sesión del chat no está disponible en esta página (no se encontró {name}).",
  'msg.tokenRefused': "No hemos podido confirmar tu inicio de sesión ({reason}). Vuelve a iniciar sesión.",
  'msg.unknownReason': "motivo desconocido",
  'msg.somethingWrong': "Algo ha fallado ({code}).",
  'msg.unknownError': "error desconocido",

  // the chat service's error codes (errors.js)
  'error.origin_not_allowed': "Este sitio no tiene permiso para usar este chat.",
  'error.auth_required': "Inicia sesión para chatear con nosotros.",
  'error.unknown_widget': "Este chat no está bien configurado (widget desconocido). Ponte en contacto con el responsable del sitio.",
  'error.text_too_long': "Ese mensaje es demasiado largo (4000 caracteres como máximo).",
  'error.empty_text': "No se puede enviar un mensaje vacío.",
  'error.rate_limited': "Estás enviando mensajes muy rápido; enviaremos el resto en un momento.",
  'error.conversation_ended': "Este chat ha terminado.",
  'error.frame_too_large': "Ese mensaje es demasiado grande para enviarlo.",
  'error.forbidden': "Eso no está permitido en este chat.",
  'error.internal': "Algo ha fallado por nuestra parte. Seguiremos intentándolo.",
  'error.too_large': "Ese archivo es demasiado grande para enviarlo.",
  'error.unsupported_media_type': "Ese tipo de archivo no se puede enviar (solo imágenes, PDF y texto sin formato).",
  'error.bad_attachment': "No se pudo adjuntar ese archivo al mensaje.",

  // why a sign-in token was refused (invalid_token reasons)
  'reason.malformed': "el token de inicio de sesión está mal formado",
  'reason.unsupported_alg': "el token usa un algoritmo no admitido",
  'reason.forbidden_header': "el token tiene una cabecera no permitida",
  'reason.unknown_kid': "la clave de firma es desconocida",
  'reason.bad_signature': "la firma no coincide",
  'reason.expired': "el inicio de sesión ha caducado",
  'reason.not_yet_valid': "el token aún no es válido",
  'reason.missing_claim': "al token le falta un dato obligatorio",
  'reason.invalid_claim': "el token tiene un dato no válido",
  'reason.wrong_issuer': "el token procede del emisor equivocado",
  'reason.key_unavailable': "no se pudo obtener la clave de firma del sitio",

  // waiting in a queue
  'queue.position': "Eres el número {position} de la cola.",
  'queue.positionWait': "Eres el número {position} de la cola (unos {minutes} min).",
  'queue.next': "Eres el siguiente de la cola.",

  // outside business hours
  'offline.heading': "Ahora mismo no estamos disponibles",
  'offline.body': "Déjanos un mensaje y te responderemos.",

  // attachments
  'attach.button': "Adjuntar un archivo",
  'attach.drop': "Suelta un archivo aquí para adjuntarlo",
  'attach.uploading': "Subiendo {filename}…",
  'attach.remove': "Quitar {filename}",
  'attach.download': "Descargar {filename}",
  'attach.failed': "No se pudo subir el archivo.",
  'attach.tooLarge': "Ese archivo es demasiado grande ({size} como máximo).",
  'attach.unsupported': "Ese tipo de archivo no se puede enviar. Se admiten imágenes, PDF y archivos de texto.",

  // rating after the chat
  'rating.title': "¿Qué tal ha ido el chat?",
  'rating.star1': "1 estrella",
  'rating.star2': "2 estrellas",
  'rating.star3': "3 estrellas",
  'rating.star4': "4 estrellas",
  'rating.star5': "5 estrellas",
  'rating.comment': "Comentario (opcional)",
  'rating.submit': "Enviar",
  'rating.thanks': "¡Gracias por tu opinión!",
  'rating.pickScore': "Elija de 1 a 5 estrellas.",

  // transcript by email
  'transcript.email': "Enviarme la transcripción por correo",
  'transcript.sent': "La transcripción va de camino a tu correo electrónico.",
  'transcript.failed': "No se pudo enviar la transcripción. Inténtelo de nuevo."
};
