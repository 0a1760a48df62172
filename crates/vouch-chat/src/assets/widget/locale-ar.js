/*
 * The widget's words in Arabic (written right to left: strings.js gives the widget dir="rtl").
 * Keys and placeholders as in locale-en.js (the reference).
 */

export default {
  // the panel
  'ui.title': "تحدّث معنا",
  'ui.open': "فتح الدردشة",
  'ui.close': "إغلاق الدردشة",
  'ui.conversation': "المحادثة",
  'ui.empty': "اسألنا عن أي شيء — نرد عادةً خلال دقائق قليلة.",
  'ui.agentTyping': "الموظف يكتب…",
  'ui.newChat': "بدء دردشة جديدة",
  'ui.tryAgain': "أعد المحاولة",
  'ui.placeholder': "اكتب رسالتك…",
  'ui.message': "الرسالة",
  'ui.send': "إرسال",
  'ui.agentMeta': "الدعم · {time}",
  'ui.unread': "{count} جديدة",

  // the status line (chat-status)
  'status.idle': "دردشة",
  'status.connecting': "جارٍ الاتصال…",
  'status.reconnecting': "جارٍ إعادة الاتصال…",
  'status.offline': "غير متصل",
  'status.renewing': "جارٍ تجديد تسجيل الدخول…",
  'status.notSignedIn': "لم تسجّل الدخول",
  'status.notConnected': "غير متصل",
  'status.guest': "تدردش كضيف · غير موثَّق",
  'status.signedInVerified': "مسجّل الدخول · موثَّق",
  'status.signedInAsVerified': "مسجّل الدخول باسم {name} · موثَّق",

  // the conversation's state
  'state.waiting': "في انتظار موظف…",
  'state.active': "تدردش مع الدعم",
  'state.ended': "انتهت هذه الدردشة.",

  // a customer message's delivery state, under its bubble
  'delivery.pending': "جارٍ الإرسال…",
  'delivery.sent': "أُرسلت",
  'delivery.delivered': "وصلت",
  'delivery.failed': "لم تُرسل",

  // sentences about the connection and the setup
  'msg.unreachable': "تعذّر الوصول إلى خدمة الدردشة الآن. سنواصل المحاولة.",
  'msg.offline': "يبدو أنك غير متصل بالإنترنت. سنعيد الاتصال عند عودتك.",
  'msg.notConfigured': "هذه الدردشة غير مُعدّة بشكل صحيح (المقتطف بلا data-app-id). يُرجى التواصل مع مالك الموقع.",
  'msg.serverTrouble': "تواجه خدمة الدردشة مشكلة الآن. سنواصل المحاولة.",
  'msg.busy': "خدمة الدردشة مشغولة الآن. سنواصل المحاولة.",
  'msg.reauthFailed': "انتهى تسجيل دخولك. يُرجى تسجيل الدخول مجددًا لمتابعة الدردشة.",
  'msg.unsupported': "لا يستطيع هذا المتصفح تشغيل الدردشة (لا يدعم WebSocket أو fetch).",
  'msg.broken': "حدث خطأ في الدردشة. يُرجى إعادة تحميل الصفحة للمحاولة مجددًا.",
  'msg.couldNotStart': "تعذّر بدء الدردشة ({detail}).",
  'msg.unexpectedAnswer': "رد غير متوقع {status}",
  'msg.authFunctionMissing': "تسجيل الدخول إلى الدردشة غير متاح في هذه الصفحة (لم يُعثر على {name}).",
  'msg.tokenRefused': "تعذّر تأكيد تسجيل دخولك ({reason}). يُرجى تسجيل الدخول مجددًا.",
  'msg.unknownReason': "سبب غير معروف",
  'msg.somethingWrong': "حدث خطأ ({code}).",
  'msg.unknownError': "خطأ غير معروف",

  // the chat service's error codes (errors.js)
  'error.origin_not_allowed': "هذا الموقع غير مسموح له باستخدام هذه الدردشة.",
  'error.auth_required': "يُرجى تسجيل الدخول للدردشة معنا.",
  'error.unknown_widget': "هذه الدردشة غير مُعدّة بشكل صحيح (أداة غير معروفة). يُرجى التواصل مع مالك الموقع.",
  'error.text_too_long': "هذه الرسالة طويلة جدًا (4000 حرف على الأكثر).",
  'error.empty_text': "لا يمكن إرسال رسالة فارغة.",
  'error.rate_limited': "أنت ترسل الرسائل بسرعة كبيرة؛ سنرسل الباقي بعد لحظات.",
  'error.conversation_ended': "انتهت هذه الدردشة.",
  'error.frame_too_large': "هذه الرسالة أكبر من أن تُرسل.",
  'error.forbidden': "هذا غير مسموح به في هذه الدردشة.",
  'error.internal': "حدث خطأ من جانبنا. سنواصل المحاولة.",
  'error.too_large': "هذا الملف أكبر من أن يُرسل.",
  'error.unsupported_media_type': "لا يمكن إرسال هذا النوع من الملفات (الصور وملفات PDF والنص العادي فقط).",
  'error.bad_attachment': "تعذّر إرفاق هذا الملف بالرسالة.",

  // why a sign-in token was refused (invalid_token reasons)
  'reason.malformed': "رمز تسجيل الدخول غير سليم البنية",
  'reason.unsupported_alg': "الرمز يستخدم خوارزمية غير مدعومة",
  'reason.forbidden_header': "الرمز يحمل ترويسة محظورة",
  'reason.unknown_kid': "مفتاح التوقيع غير معروف",
  'reason.bad_signature': "التوقيع غير مطابق",
  'reason.expired': "انتهت صلاحية تسجيل الدخول",
  'reason.not_yet_valid': "الرمز غير صالح بعد",
  'reason.missing_claim': "ينقص الرمز بيان مطلوب",
  'reason.invalid_claim': "الرمز يحمل بيانًا غير صالح",
  'reason.wrong_issuer': "الرمز صادر عن جهة غير صحيحة",
  'reason.key_unavailable': "تعذّر جلب مفتاح التوقيع الخاص بالموقع",

  // waiting in a queue
  'queue.position': "ترتيبك {position} في قائمة الانتظار.",
  'queue.positionWait': "ترتيبك {position} في قائمة الانتظار (نحو {minutes} دقيقة).",
  'queue.next': "أنت التالي في قائمة الانتظار.",

  // outside business hours
  'offline.heading': "نحن غير متاحين الآن",
  'offline.body': "اترك رسالة وسنعاود التواصل معك.",

  // attachments
  'attach.button': "إرفاق ملف",
  'attach.drop': "أفلت ملفًا هنا لإرفاقه",
  'attach.uploading': "جارٍ رفع {filename}…",
  'attach.remove': "إزالة {filename}",
  'attach.download': "تنزيل {filename}",
  'attach.failed': "تعذّر رفع الملف.",
  'attach.tooLarge': "هذا الملف كبير جدًا ({size} على الأكثر).",
  'attach.unsupported': "لا يمكن إرسال هذا النوع من الملفات. يمكن إرسال الصور وملفات PDF والملفات النصية.",

  // rating after the chat
  'rating.title': "كيف كانت دردشتك؟",
  'rating.star1': "نجمة واحدة",
  'rating.star2': "نجمتان",
  'rating.star3': "3 نجوم",
  'rating.star4': "4 نجوم",
  'rating.star5': "5 نجوم",
  'rating.comment': "تعليق (اختياري)",
  'rating.submit': "إرسال",
  'rating.thanks': "شكرًا على ملاحظاتك!",
  'rating.pickScore': "يُرجى اختيار من نجمة واحدة إلى خمس نجوم.",

  // transcript by email
  'transcript.email': "أرسل لي نص المحادثة بالبريد الإلكتروني",
  'transcript.sent': "نص المحادثة في طريقه إلى بريدك الإلكتروني.",
  'transcript.failed': "تعذّر إرسال نص المحادثة. حاول مرة أخرى."
};
