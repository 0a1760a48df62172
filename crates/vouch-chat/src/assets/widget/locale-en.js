/*
 * The widget's words in English: the reference catalog. Every other locale-*.js has exactly
 * these keys (a test in assets/catalogs.rs holds them equal, placeholders included), so a
 * string added here without its five translations fails the build's tests.
 *
 * One entry a line: 'key': "text". `{name}` is a placeholder that strings.js t() fills in;
 * keep it as it is in every language. `error.<code>` explains a wire error code of the chat
 * service (errors.js), `reason.<code>` an invalid_token reason of the verifier.
 */

export default {
  // the panel
  'ui.title': "Chat with us",
  'ui.open': "Open chat",
  'ui.close': "Close chat",
  'ui.conversation': "Conversation",
  'ui.empty': "Ask us anything — we usually answer within a few minutes.",
  'ui.agentTyping': "Agent is typing…",
  'ui.newChat': "Start a new chat",
  'ui.tryAgain': "Try again",
  'ui.placeholder': "Type your message…",
  'ui.message': "Message",
  'ui.send': "Send",
  'ui.agentMeta': "Support · {time}",
  'ui.unread': "{count} new",

  // the status line (chat-status)
  'status.idle': "Chat",
  'status.connecting': "Connecting…",
  'status.reconnecting': "Reconnecting…",
  'status.offline': "Offline",
  'status.renewing': "Renewing sign-in…",
  'status.notSignedIn': "Not signed in",
  'status.notConnected': "Not connected",
  'status.guest': "Chatting as a guest · not verified",
  'status.signedInVerified': "Signed in · verified",
  'status.signedInAsVerified': "Signed in as {name} · verified",

  // the conversation's state
  'state.waiting': "Waiting for an agent…",
  'state.active': "Chatting with support",
  'state.ended': "This chat has ended.",

  // a customer message's delivery state, under its bubble
  'delivery.pending': "Sending…",
  'delivery.sent': "Sent",
  'delivery.delivered': "Delivered",
  'delivery.failed': "Not sent",

  // sentences about the connection and the setup
  'msg.unreachable': "The chat service can't be reached right now. We'll keep trying.",
  'msg.offline': "You appear to be offline. We'll reconnect when you're back online.",
  'msg.notConfigured': "This chat is not set up correctly (the snippet has no data-app-id). Please contact the site owner.",
  'msg.serverTrouble': "The chat service is having trouble right now. We'll keep trying.",
  'msg.busy': "The chat service is busy right now. We'll keep trying.",
  'msg.reauthFailed': "Your sign-in has ended. Please sign in again to keep chatting.",
  'msg.unsupported': "This browser cannot run the chat (it lacks WebSocket or fetch support).",
  'msg.broken': "Something went wrong in the chat. Please reload the page to try again.",
  'msg.couldNotStart': "The chat could not start ({detail}).",
  'msg.unexpectedAnswer': "unexpected answer {status}",
  'msg.authFunctionMissing': "Sign-in for chat is not available on this page ({name} was not found).",
  'msg.tokenRefused': "We couldn't confirm your sign-in ({reason}). Please sign in again.",
  'msg.unknownReason': "unknown reason",
  'msg.somethingWrong': "Something went wrong ({code}).",
  'msg.unknownError': "unknown error",

  // the chat service's error codes (errors.js)
  'error.origin_not_allowed': "This site is not allowed to use this chat.",
  'error.auth_required': "Please sign in to chat with us.",
  'error.unknown_widget': "This chat is not set up correctly (unknown widget). Please contact the site owner.",
  'error.text_too_long': "That message is too long (at most 4,000 characters).",
  'error.empty_text': "An empty message cannot be sent.",
  'error.rate_limited': "You're sending messages very fast; we'll send the rest in a moment.",
  'error.conversation_ended': "This chat has ended.",
  'error.frame_too_large': "That message is too large to send.",
  'error.forbidden': "That is not allowed in this chat.",
  'error.internal': "Something went wrong on our side. We'll keep trying.",
  'error.too_large': "That file is too large to send.",
  'error.unsupported_media_type': "That kind of file cannot be sent (images, PDF and plain text only).",
  'error.bad_attachment': "That file could not be attached to the message.",

  // why a sign-in token was refused (invalid_token reasons)
  'reason.malformed': "the sign-in token is malformed",
  'reason.unsupported_alg': "the token uses an unsupported algorithm",
  'reason.forbidden_header': "the token has a forbidden header",
  'reason.unknown_kid': "the signing key is unknown",
  'reason.bad_signature': "the signature does not match",
  'reason.expired': "the sign-in has expired",
  'reason.not_yet_valid': "the token is not valid yet",
  'reason.missing_claim': "the token lacks a required claim",
  'reason.invalid_claim': "the token has an invalid claim",
  'reason.wrong_issuer': "the token comes from the wrong issuer",
  'reason.key_unavailable': "the site's signing key could not be fetched",

  // waiting in a queue
  'queue.position': "You are number {position} in the queue.",
  'queue.positionWait': "You are number {position} in the queue (about {minutes} min).",
  'queue.next': "You are next in the queue.",

  // outside business hours
  'offline.heading': "We're offline right now",
  'offline.body': "Leave a message and we'll get back to you.",

  // attachments
  'attach.button': "Attach a file",
  'attach.drop': "Drop a file here to attach it",
  'attach.uploading': "Uploading {filename}…",
  'attach.remove': "Remove {filename}",
  'attach.download': "Download {filename}",
  'attach.failed': "The file could not be uploaded.",
  'attach.tooLarge': "That file is too large (at most {size}).",
  'attach.unsupported': "That kind of file can't be sent. Images, PDF and text files can.",

  // rating after the chat
  'rating.title': "How was your chat?",
  'rating.star1': "1 star",
  'rating.star2': "2 stars",
  'rating.star3': "3 stars",
  'rating.star4': "4 stars",
  'rating.star5': "5 stars",
  'rating.comment': "Comment (optional)",
  'rating.submit': "Submit",
  'rating.thanks': "Thank you for your feedback!",
  'rating.pickScore': "Please choose from 1 to 5 stars.",

  // transcript by email
  'transcript.email': "Email me the transcript",
  'transcript.sent': "Transcript sent to your email address.",
  'transcript.failed': "The transcript could not be sent. Try again."
};
