/*
 * Every sentence and label the widget shows that does not explain a server error code
 * (those are in errors.js).
 */

export const MSG = {
  unreachable: "The chat service can't be reached right now. We'll keep trying.",
  offline: "You appear to be offline. We'll reconnect when you're back online.",
  notConfigured: 'This chat is not set up correctly (the snippet has no data-app-id). Please contact the site owner.',
  serverTrouble: "The chat service is having trouble right now. We'll keep trying.",
  busy: "The chat service is busy right now. We'll keep trying.",
  reauthFailed: 'Your sign-in has ended. Please sign in again to keep chatting.',
  unsupported: 'This browser cannot run the chat (it lacks WebSocket or fetch support).',
  broken: 'Something went wrong in the chat. Please reload the page to try again.'
};

/* The chat could not start for a reason the server put in words (or only a status). */
export function couldNotStart(detail) {
  return 'The chat could not start (' + detail + ').';
}

/* The page has no function of the configured name (see auth.js). */
export function authFunctionMissing(name) {
  return 'Sign-in for chat is not available on this page (' + name + ' was not found).';
}

export const UI = {
  title: 'Chat with us',
  open: 'Open chat',
  close: 'Close chat',
  conversation: 'Conversation',
  empty: 'Ask us anything \u2014 we usually answer within a few minutes.',
  agentTyping: 'Agent is typing\u2026',
  newChat: 'Start a new chat',
  tryAgain: 'Try again',
  placeholder: 'Type your message\u2026',
  message: 'Message',
  send: 'Send',
  support: 'Support \u00b7 '
};

/* Status line pieces (chat-status). */
export const STATUS = {
  idle: 'Chat',
  connecting: 'Connecting\u2026',
  reconnecting: 'Reconnecting\u2026',
  offline: 'Offline',
  renewing: 'Renewing sign-in\u2026',
  notSignedIn: 'Not signed in',
  notConnected: 'Not connected',
  guest: 'Chatting as a guest \u00b7 not verified',
  verified: ' \u00b7 verified',
  signedIn: 'Signed in',
  signedInAs: 'Signed in as '
};

export const STATE_TEXT = {
  waiting: 'Waiting for an agent\u2026',
  active: 'Chatting with support',
  ended: 'This chat has ended.'
};

/*
 * Offline hours and the transcript by email (offline.js). i18n: translate these keys too —
 * heading, message, transcript, transcriptSent, transcriptFailed.
 */
export const OFFLINE = {
  heading: 'We\u2019re offline right now',
  message: 'Leave a message and we\u2019ll get back to you as soon as we\u2019re back.',
  transcript: 'Email me the transcript',
  transcriptSent: 'Transcript sent to your email',
  transcriptFailed: 'Could not send the transcript. Try again'
};

/* A customer message's delivery state, under its bubble. */
export const STATUS_LABEL = { pending: 'Sending\u2026', sent: 'Sent', delivered: 'Delivered', failed: 'Not sent' };
