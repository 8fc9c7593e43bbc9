// The injection rules (PRD §4.15 RESEARCH_BLOCKED_PATTERNS and a maintained set beyond them).
// Each rule is a regular expression over one normalized view of a sentence (normalize.ts):
// "skeleton" for Latin-script rules (homoglyphs mapped), "plain" for other scripts. Weights add up
// per page; severity says how bad one match is on its own. Keep each rule narrow: a rule that fires
// on ordinary prose costs more (false quarantines) than it saves.
import type { Severity } from "./evidence.ts";

export interface Rule {
  id: string;
  category: "prd" | "instruction_override" | "role_switch" | "fake_token" | "tool_injection" | "exfiltration" | "prompt_leak" | "secrecy" | "addressed_to_ai";
  severity: Severity;
  weight: number;
  view: "plain" | "skeleton";
  pattern: RegExp;
  /** Language of the rule's wording, for the corpus report. */
  lang?: string;
}

const OVERRIDE_VERB = "(?:ignore|disregard|forget|override|bypass|skip|drop|abandon|neglect|discard)";
const PRIOR = "(?:previous|prior|above|earlier|preceding|foregoing|all|any|your|the|these|those|existing|original|initial|system|developer|old)";
const ORDERS = "(?:instructions?|prompts?|rules|directions|directives|guidelines|guidance|context|messages?|commands?|orders|constraints|polic(?:y|ies)|programming|restrictions)";

export const RULES: readonly Rule[] = [
  // PRD §4.15 RESEARCH_BLOCKED_PATTERNS, verbatim.
  { id: "prd.ignore_previous_instructions", category: "prd", severity: "critical", weight: 6, view: "skeleton", pattern: /ignore previous instructions/ },
  // Alone, "you are now" is everyday prose ("you are now ready to deploy"): recorded, low weight;
  // role.you_are_now_a below is the role switch.
  { id: "prd.you_are_now", category: "prd", severity: "low", weight: 1, view: "skeleton", pattern: /\byou are now\b/ },
  { id: "prd.system_token", category: "prd", severity: "critical", weight: 6, view: "skeleton", pattern: /<\|system\|>/ },
  { id: "prd.tool_call", category: "prd", severity: "critical", weight: 6, view: "skeleton", pattern: /\btool_call:/ },

  // Instruction overrides.
  { id: "override.ignore_prior", category: "instruction_override", severity: "critical", weight: 6, view: "skeleton", pattern: new RegExp(`\\b${OVERRIDE_VERB}\\b(?: \\w+){0,4}? ${PRIOR}\\b(?: \\w+){0,3}? ${ORDERS}\\b`) },
  { id: "override.ignore_everything", category: "instruction_override", severity: "high", weight: 4, view: "skeleton", pattern: /\b(?:ignore|disregard|forget) (?:everything|all of that|what you were told|what you've been told|your training)\b/ },
  { id: "override.new_instructions", category: "instruction_override", severity: "high", weight: 4, view: "skeleton", pattern: /\b(?:new|updated|real|actual|revised|true|secret|hidden|additional) (?:system )?(?:instructions?|task|objective|directives?|orders)\b ?(?::|are|is\b|follow)/ },
  { id: "override.instead_do", category: "instruction_override", severity: "high", weight: 4, view: "skeleton", pattern: /\binstead(?:,| of (?:that|summari[sz]ing|answering|this))\b.{0,40}\b(?:you (?:must|should|will)|do the following|respond with|reply with|say|write|output)\b/ },
  { id: "override.stop_task", category: "instruction_override", severity: "high", weight: 4, view: "skeleton", pattern: /\b(?:stop|cease|abort) (?:what you are doing|your (?:current )?task|summari[sz]ing|the task)\b/ },
  { id: "override.important_assistant", category: "instruction_override", severity: "high", weight: 4, view: "skeleton", pattern: /\b(?:important|attention|urgent|notice|warning)\b ?[:!-]+ ?(?:to |for )?(?:the |any |all )?(?:ai|assistant|llm|language model|model|agent|chatbot|bot)s?\b/ },

  // Spaced-out letters rejoined without word breaks ("i g n o r e p r e v i o u s ..."): no \b,
  // since the words run together; ordinary prose never spells these phrases without spaces.
  { id: "override.spaced_out", category: "instruction_override", severity: "critical", weight: 6, view: "skeleton", pattern: /(?:ignore|disregard|forget)(?:all|the|any|your)?(?:previous|prior|above|earlier|preceding)(?:instructions?|prompts?|rules|directions)|youarenow(?:a|an|the|dan|in)|systemprompt(?:override|follows)/ },

  // Role switches.
  { id: "role.from_now_on", category: "role_switch", severity: "high", weight: 4, view: "skeleton", pattern: /\bfrom now on,? (?:you|your|the assistant)\b/ },
  { id: "role.you_are_now_a", category: "role_switch", severity: "high", weight: 4, view: "skeleton", pattern: /\byou are now (?:an? |the |my |in |dan\b|free\b|unrestricted|jailbroken|unfiltered|uncensored|operating|acting|going to (?:ignore|act|pretend))/ },
  { id: "role.you_are_no_longer", category: "role_switch", severity: "high", weight: 4, view: "skeleton", pattern: /\byou are no longer\b/ },
  { id: "role.act_as", category: "role_switch", severity: "high", weight: 4, view: "skeleton", pattern: /\b(?:act|behave|respond|roleplay) as (?:if you (?:were|are) )?(?:an? |the )?(?:unrestricted|unfiltered|jailbroken|evil|uncensored|different|new|dan\b)/ },
  { id: "role.pretend", category: "role_switch", severity: "medium", weight: 2, view: "skeleton", pattern: /\bpretend (?:to be|that you are|you are) (?:an? )?(?:unrestricted|unfiltered|different|evil|another|new|the system|the developer|an admin)/ },
  { id: "role.mode", category: "role_switch", severity: "high", weight: 4, view: "skeleton", pattern: /\b(?:enter|enable|activate|switch to) (?:developer|god|dan|jailbreak|debug|admin|sudo|unrestricted) mode\b|\b(?:developer|dan|jailbreak|god) mode (?:enabled|activated|on)\b/ },

  // Fake system / tool tokens and chat-template markup.
  { id: "token.chat_template", category: "fake_token", severity: "critical", weight: 6, view: "skeleton", pattern: /<\|(?:im_start|im_end|system|assistant|user|endoftext|eot_id|start_header_id|end_header_id|begin_of_text)\|>/ },
  { id: "token.inst", category: "fake_token", severity: "critical", weight: 6, view: "skeleton", pattern: /\[\/?inst\]|<<\/?sys>>|\[\/?system(?: message)?\]/ },
  { id: "token.xml_role", category: "fake_token", severity: "high", weight: 5, view: "skeleton", pattern: /<\/?(?:system|system_prompt|instructions?|admin|developer_message|tool_call|tool_use|function_calls?|invoke|antml:[a-z_]+)(?:\s[^>]*)?>/ },
  { id: "token.role_line", category: "fake_token", severity: "high", weight: 4, view: "skeleton", pattern: /(?:^|\n)\s*(?:#{1,3} ?)?(?:system|assistant|developer)\s*(?:message|prompt)?\s*:\s*(?:you|ignore|from now|new|the user|always|never|do not)/ },
  { id: "token.human_assistant", category: "fake_token", severity: "high", weight: 4, view: "skeleton", pattern: /\n\n(?:human|user):[\s\S]{0,200}\n\nassistant:/ },

  // Tool-call injection.
  { id: "tool.json_call", category: "tool_injection", severity: "critical", weight: 6, view: "skeleton", pattern: /"(?:tool_calls?|tool_use|function_call|tool_name|recipient_name)"\s*:/ },
  { id: "tool.call_the_tool", category: "tool_injection", severity: "high", weight: 4, view: "skeleton", pattern: /\b(?:call|invoke|use|run|execute|trigger) the (?:[\w.-]+ )?(?:tool|function|plugin|api|action)\b.{0,60}\b(?:with|to (?:send|fetch|post|email|delete|transfer|write))\b/ },
  { id: "tool.run_command", category: "tool_injection", severity: "high", weight: 4, view: "skeleton", pattern: /\b(?:run|execute) (?:this|the following) (?:command|code|script|shell)\b|\bcurl [^ ]+ \| ?(?:sh|bash)\b|\brm -rf \/(?:\s|$)/ },

  // Exfiltration through markdown images or links, or by asking for secrets to be sent.
  { id: "exfil.markdown_image_query", category: "exfiltration", severity: "critical", weight: 6, view: "skeleton", pattern: /!\[[^\]]{0,200}\]\(\s*https?:\/\/[^)\s]+\?[^)\s]*=[^)\s]*\)/ },
  { id: "exfil.markdown_placeholder", category: "exfiltration", severity: "critical", weight: 6, view: "skeleton", pattern: /\]\(\s*https?:\/\/[^)\s]*(?:\{|%7b|\[|<)[^)\s]*\)/ },
  { id: "exfil.send_secrets", category: "exfiltration", severity: "critical", weight: 6, view: "skeleton", pattern: /\b(?:send|post|upload|forward|exfiltrate|leak|transmit|email|append|include|encode|embed)\b.{0,60}\b(?:api[ _-]?keys?|secrets?|passwords?|credentials?|access tokens?|session tokens?|tokens|conversation(?: history)?|chat history|system prompt|user'?s? (?:data|email|messages)|environment variables|env vars|private keys?)\b.{0,60}\b(?:to|into|in|at|via)\b/ },
  { id: "exfil.render_image", category: "exfiltration", severity: "high", weight: 4, view: "skeleton", pattern: /\b(?:render|display|output|include|show)\b.{0,30}\b(?:this |the following |an? )?(?:image|markdown image|link|url)\b.{0,60}\b(?:with|containing|including|append(?:ed|ing)?)\b.{0,40}\b(?:data|answer|summary|conversation|secret|token|key|query)\b/ },
  { id: "exfil.visit_url", category: "exfiltration", severity: "high", weight: 4, view: "skeleton", pattern: /\b(?:visit|open|fetch|browse to|navigate to|make a request to)\b.{0,20}https?:\/\/\S+.{0,40}\b(?:with|and (?:append|include|pass)|adding)\b/ },

  // Asking for the model's instructions.
  { id: "leak.system_prompt", category: "prompt_leak", severity: "high", weight: 4, view: "skeleton", pattern: /\b(?:reveal|print|show|output|repeat|tell me|display|dump|leak|give me)\b.{0,30}\b(?:your |the )?(?:system prompt|hidden instructions|initial instructions|instructions above|original instructions|prompt above|developer message)\b/ },

  // Secrecy from the user.
  { id: "secrecy.dont_tell_user", category: "secrecy", severity: "medium", weight: 3, view: "skeleton", pattern: /\b(?:do not|don't|never) (?:tell|inform|mention|reveal|disclose|alert|let)\b.{0,30}\b(?:the )?(?:user|human|anyone|operator|reader)\b/ },
  { id: "secrecy.user_must_not_know", category: "secrecy", severity: "medium", weight: 3, view: "skeleton", pattern: /\b(?:the )?(?:user|human|reader) (?:must|should|will) (?:not|never) (?:know|see|find out|be told)\b/ },

  // Text that addresses the model that reads it.
  { id: "addressed.if_you_are_ai", category: "addressed_to_ai", severity: "high", weight: 4, view: "skeleton", pattern: /\bif you are an? (?:ai|llm|large language model|language model|assistant|chatbot|bot|ai assistant|ai model|agent)\b/ },
  { id: "addressed.note_to_ai", category: "addressed_to_ai", severity: "high", weight: 4, view: "skeleton", pattern: /\b(?:note|message|instructions?|attention) (?:to|for) (?:the |any |all )?(?:ai|llm|assistant|language model|model|agent|chatbot|bot)s?\b/ },
  { id: "addressed.ai_reading_this", category: "addressed_to_ai", severity: "medium", weight: 3, view: "skeleton", pattern: /\b(?:ai|llm|assistant|language model|model|agent|chatbot|bot)s? (?:reading|processing|summari[sz]ing|parsing|crawling|scraping) this\b/ },
  { id: "addressed.when_summarizing", category: "addressed_to_ai", severity: "high", weight: 4, view: "skeleton", pattern: /\bwhen (?:you (?:are )?)?(?:summari[sz]ing|summari[sz]e|processing|reading|answering)\b.{0,40}\b(?:you must|always|make sure to|be sure to|say|state|claim|recommend|include|mention)\b/ },

  // Other languages: Latin-script ones on the skeleton (accents may be folded, so both spellings),
// the others on the plain view (their scripts stay as written).
  { id: "i18n.es.ignore", category: "instruction_override", severity: "critical", weight: 6, view: "skeleton", lang: "es", pattern: /\b(?:ignora|ignore|olvida|olvide|omite|descarta)\b.{0,20}\binstrucciones\b.{0,20}\b(?:anteriores|previas|del sistema)\b/ },
  { id: "i18n.es.role", category: "role_switch", severity: "high", weight: 4, view: "skeleton", lang: "es", pattern: /\b(?:ahora eres|a partir de ahora,? (?:eres|debes|tú))\b/ },
  { id: "i18n.fr.ignore", category: "instruction_override", severity: "critical", weight: 6, view: "skeleton", lang: "fr", pattern: /\b(?:ignore[zr]?|oublie[zr]?)\b.{0,20}\binstructions\b.{0,20}\b(?:pr[ée]c[ée]dentes|ant[ée]rieures|ci-dessus|du syst[èe]me)/ },
  { id: "i18n.fr.role", category: "role_switch", severity: "high", weight: 4, view: "skeleton", lang: "fr", pattern: /\b(?:tu es maintenant|vous [eê]tes maintenant|[aà] partir de maintenant,? (?:tu|vous))\b/ },
  { id: "i18n.de.ignore", category: "instruction_override", severity: "critical", weight: 6, view: "skeleton", lang: "de", pattern: /\b(?:ignoriere|ignorieren sie|vergiss|vergessen sie)\b.{0,20}\b(?:vorherigen|bisherigen|obigen|vorigen|alle)\b.{0,20}\b(?:anweisungen|instruktionen|befehle|regeln)\b/ },
  { id: "i18n.de.role", category: "role_switch", severity: "high", weight: 4, view: "skeleton", lang: "de", pattern: /\b(?:du bist (?:jetzt|nun|ab sofort)|ab jetzt bist du)\b/ },
  { id: "i18n.it.ignore", category: "instruction_override", severity: "critical", weight: 6, view: "skeleton", lang: "it", pattern: /\b(?:ignora|dimentica)\b.{0,20}\bistruzioni\b.{0,20}\b(?:precedenti|sopra|del sistema)\b/ },
  { id: "i18n.pt.ignore", category: "instruction_override", severity: "critical", weight: 6, view: "skeleton", lang: "pt", pattern: /\b(?:ignore|ignora|esqueça|esqueca)\b.{0,20}\b(?:instruções|instrucoes).{0,20}\b(?:anteriores|acima|do sistema)\b/ },
  { id: "i18n.nl.ignore", category: "instruction_override", severity: "critical", weight: 6, view: "skeleton", lang: "nl", pattern: /\b(?:negeer|vergeet)\b.{0,20}\b(?:vorige|eerdere|bovenstaande|alle)\b.{0,20}\binstructies\b/ },
  { id: "i18n.ru.ignore", category: "instruction_override", severity: "critical", weight: 6, view: "plain", lang: "ru", pattern: /(?:игнорируй|игнорируйте|забудь|забудьте|проигнорируй)[\s\S]{0,30}(?:инструкци|указани)/ },
  { id: "i18n.ru.role", category: "role_switch", severity: "high", weight: 4, view: "plain", lang: "ru", pattern: /(?:теперь ты|отныне ты)/ },
  { id: "i18n.zh.ignore", category: "instruction_override", severity: "critical", weight: 6, view: "plain", lang: "zh", pattern: /(?:忽略|无视|忽视|忘记|無視|忘記)[^。！？]{0,10}(?:之前|以上|先前|前面|所有|上述)[^。！？]{0,6}(?:指令|指示|说明|說明|提示|规则|規則)/ },
  { id: "i18n.zh.role", category: "role_switch", severity: "high", weight: 4, view: "plain", lang: "zh", pattern: /(?:你现在是|你現在是|从现在开始,?你|從現在開始,?你)/ },
  { id: "i18n.ja.ignore", category: "instruction_override", severity: "critical", weight: 6, view: "plain", lang: "ja", pattern: /(?:以前|前|上記|これまで)の(?:指示|命令|指令|ルール)を(?:すべて|全て)?(?:無視|忘れ)/ },
  { id: "i18n.ko.ignore", category: "instruction_override", severity: "critical", weight: 6, view: "plain", lang: "ko", pattern: /(?:이전|위의|모든)\s*(?:지시|명령|지침)[을를]?\s*(?:무시|잊어)/ },
];

/** Context that says a sentence talks ABOUT an attack rather than making one. */
export const DISCUSSION_CONTEXT =
  /\b(?:attack(?:s|ers?|ed)?|injections?|jailbreak(?:s|ing)?|examples?|e\.g\.|for instance|such as|phrases? (?:like|such as)|the (?:phrase|string|sentence)|payloads?|malicious|adversar(?:y|ial)|researchers?|red[- ]team(?:ing|ers)?|classic|known as|so-called|defen[cs]es?|mitigat(?:e|ion|ions)|vulnerab(?:le|ility|ilities)|owasp|cve-\d+|demonstrat(?:e|ed|es|ion)|phishing|scam(?:s|mers)?|fraud(?:sters)?|never ask)\b/;

/** Domains, URLs and e-mail addresses say nothing about discussion ("evil.example" is no example). */
export const stripAddresses = (sentence: string) => sentence.replace(/\S+[.@]\S+/g, " ");
