/*
 * Every sentence and label the agent console (agent*.js) and the admin pages (admin.js,
 * common.js) show from script, in one place. They are in English only (the widget, which
 * customers see, speaks six languages: widget/locale-*.js); keeping them here means one file
 * to review, reword or, one day, translate. The pages' static HTML holds the rest.
 * One entry a line: key: "text"; `{name}` is filled in by t(key, params).
 */

const EN = {
  // shared (common.js)
  unreachable: "The chat service can't be reached right now. Try again in a moment.",
  sessionEnded: "Your session has ended. Please sign in again.",
  adminsOnly: "Only administrators may do this.",
  failedCode: "{what} ({code}).",
  failedStatus: "{what} (HTTP {status}).",

  // signing in and out (agent.js, admin.js)
  enterEmailPassword: "Enter your email and password.",
  signInUnreachable: "The chat service can't be reached. Check your connection and try again.",
  wrongPassword: "Wrong email or password.",
  tooManySignIns: "Too many sign-in attempts. Please wait a moment and try again.",
  signInFailed: "Sign-in failed",
  reloadUnreachable: "The chat service can't be reached. Reload the page to try again.",
  loadAccountFailed: "Could not load your account",
  signedOut: "You have signed out.",
  adminPageForAdmins: "This page is for administrators. You are signed in as an agent: use the agent console at /agent, or sign in with an admin account.",

  // the agent console (agent.js, agent-socket.js, agent-view.js, agent-model.js)
  unreachableRetrying: "The chat service can't be reached right now. We'll keep trying.",
  unreachableNow: "The chat service can't be reached right now.",
  loadConversationsFailed: "Could not load conversations",
  loadConversationFailed: "Could not load this conversation",
  historyUnreachable: "Earlier conversations can't be loaded right now.",
  loadHistoryFailed: "Could not load earlier conversations",
  textTooLong: "That message is too long (at most 4,000 characters).",
  takenByOther: "Another agent took this conversation.",
  acceptFailed: "Could not accept this conversation",
  endFailed: "Could not end this conversation",
  connecting: "Connecting…",
  reconnecting: "Reconnecting…",
  online: "Online",
  offlineReconnecting: "Offline — reconnecting…",
  updateFailed: "Something went wrong showing an update: {detail}",
  refused: "The chat service refused that ({code}).",
  deliveryPending: "Sending…",
  deliverySent: "Sent",
  deliveryDelivered: "Delivered",
  deliveryFailed: "Not sent",
  verified: "Verified",
  notVerified: "Not verified",
  stateWaiting: "Waiting",
  stateActive: "Active",
  stateEnded: "Ended",
  stateOtherAgent: "With another agent",
  typing: "typing…",
  noContext: "No context variables.",
  guestNoHistory: "A guest has no earlier conversations on record.",
  loading: "Loading…",
  noHistory: "No earlier conversations.",
  earlier: "Earlier",
  messageCount: "{count} messages",
  senderAgent: "Agent",
  senderCustomer: "Customer",
  senderYou: "You",
  noMessages: "No messages yet.",
  guest: "Guest",
  unnamedContact: "Unnamed contact",

  // the admin pages (admin.js)
  edit: "Edit",
  editNamed: "Edit “{name}”",
  notSavedFix: "Not saved: please correct the highlighted field.",
  loadSettingsFailed: "Could not load the chat authentication settings",
  newSetting: "New chat authentication setting",
  leewayWhole: "The leeway is a whole number of seconds.",
  savingFetchingKey: "Saving — fetching the public key…",
  saved: "Saved.",
  savedKeys: "Saved. {count} keys found at the public key URL.",
  savedOneKey: "Saved. 1 key found at the public key URL.",
  settingNotSaved: "The setting could not be saved",
  noneAnonymous: "None (anonymous chat)",
  none: "None",
  loadWidgetsFailed: "Could not load the widgets",
  yes: "Yes",
  no: "No",
  newWidget: "New widget",
  requireAuthNeedsSetting: "A widget that requires sign-in needs a chat authentication setting.",
  widgetCreated: "Widget created. Paste the snippet below into your site.",
  widgetNotSaved: "The widget could not be saved",
  copied: "Copied to the clipboard.",
  copyByHand: "Select the text and press Ctrl+C to copy.",
  loadFailuresFailed: "Could not load the verification failures",
  noFailures: "No failures counted.",
  // the desk: notes, canned replies, presence, queues, transfer, search (agent-*.js, admin-*.js)
  savedWhat: "Saved {what}.",
  notSavedField: "Not saved: please correct the highlighted field.",
  notSavedShortcut: "Not saved: choose another shortcut.",
  deletedShortcut: "Deleted /{shortcut}.",
  loadCannedFailed: "Could not load the canned replies",
  replyNotSaved: "Could not save the reply",
  savedOneRule: "Saved 1 rule.",
  savedRules: "Saved {count} rules.",
  loadRulesFailed: "Could not load the rules",
  deliveriesTo: "Deliveries to {url}",
  loadWebhooksFailed: "Could not load the webhooks",
  loadDeliveriesFailed: "Could not load the deliveries",
  webhookNotCreated: "Could not create the webhook",
  loadMyCannedFailed: "Could not load your canned replies",
  cannedInserted: "Inserted /{shortcut}. Review it, then send.",
  noteNotAdded: "Could not add the note",
  presenceNotChanged: "Your status could not be changed",
  searchTooLong: "Search for at most {max} characters.",
  searching: "Searching…",
  searchFailed: "Search failed",
  transferFailed: "The conversation was not transferred",
  waitingSuffix: " waiting"
};

/* The text for `key` with each `{name}` replaced by params[name] (the key itself if unknown). */
export function t(key, params) {
  const s = Object.prototype.hasOwnProperty.call(EN, key) ? EN[key] : key;
  if (!params) return s;
  return s.replace(/\{([A-Za-z]+)\}/g, function (whole, name) {
    return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole;
  });
}
