"""Reading a question: cleaning it, its language, its type, and what it refers back to."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

Language = Literal["ko", "en"]

#: Topics that are attributes of a role: a question about one without a role named is about
#: the role the conversation is on ("필요한 기술은?" after "팀 리더는 무슨 일을 해?"), and a
#: question naming a role and one of these is about the role itself.
ROLE_ATTRIBUTES = frozenset({"duties", "skills", "pay", "career path", "reporting line"})

# Slack <@U123>, <!here>, <#C1|name>; Discord <@123>, <@!123>, <@&123>, <#123>, @everyone.
_PLATFORM_MARKUP = re.compile(r"<[@#!][^>\s]{0,80}>|@(?:everyone|here|channel)\b", re.I)
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
_SPACES = re.compile(r"\s+")

_LIST_CUES_KO = (
    "기술",
    "능력",
    "역량",
    "팁",
    "방법",
    "장단점",
    "장점",
    "단점",
    "업무",
    "책임",
    "역할",
    "무슨 일",
    "어떤 일",
    "하는 일",
    "종류",
    "목록",
    "예시",
    "예를",
    "무엇이 있",
    "뭐가 있",
    "어떤 것",
    "어떻게 해야",
    "뭘 해야",
    "뭐 해야",
    "무엇을 해야",
    "해야 할 일",
    "어떻게 하면",
    "비교",
    "용어",
    "호칭",
    "명칭",
    "직책들",
    "직위",
)
_LIST_CUES_EN = (
    "skills",
    "skill",
    "tips",
    "tip",
    "ways",
    "how can",
    "how do i",
    "how do you",
    "how do u",
    "how should",
    "how to",
    "pros",
    "cons",
    "advantages",
    "disadvantages",
    "duties",
    "responsibilities",
    "what does",
    "what do",
    "list",
    "examples",
    "which roles",
    "what roles",
    "titles",
    "practices",
    "steps",
    "what are",
    "qualities",
    "compare",
)
_FACT_CUES_KO = ("몇", "얼마", "누구", "언제", "어디", "가장", "최고", "어느")
_FACT_CUES_EN = ("how much", "how many", "who", "when", "which is", "highest", "what is the")

_ANAPHORA_KO = re.compile(
    r"(^|\s)(그|이|저|해당|그런|이런)\s*(직책|역할|직무|자리|일|사람|포지션|분|직업|직위)"
    r"|그것|이것|그거|이거|그게|이게|그건|이건|거기|그 사람|그들|그분|그 다음|그다음"
)
_ANAPHORA_EN = re.compile(
    r"\b(that|this|the same|such)\s+(job|role|position|one|person|title)\b"
    r"|\b(it|they|them|their|he|she|his|her|those)\b"
    r"|^((ok|okay|so|alright|right|then|hmm|cool)[,!.]?\s+)?(and|what about|how about)\b"
    # "that"/"this" standing for what was said ("why does that matter?", "push that number
    # up"), not a relative "that" ("skills that agents need"): after a verb or preposition,
    # before a word for a figure or a thing, or ending the question.
    r"|\b(is|are|was|does|do|did|about|with|for|of|on|from|like|mean|means|matter|affect"
    r"|improve|get|push|raise|lower|beat|hit|need|doing|making|using|learning|practicing"
    r"|practising|worth)\s+(that|this)\b|^why bother\b"
    r"|\b(that|this)\s+(number|figure|stat|rate|percentage|metric|thing|part|gig|stuff)\b"
    r"|\b(that|this)\s*[?!.]*$|\bsame\s+(ones?|things?)\b",
    re.I,
)
#: Verbs telling the bot to drop what it was told, and what they may be aimed at.
_DROP = (
    r"(?:ignore|disregard|forget|override|overrule|bypass|skip|drop|discard|abandon|dismiss"
    r"|neglect|overlook|erase|delete|wipe|reset|cancel|scrap|throw\s+(?:out|away)|set\s+aside"
    r"|pay\s+no\s+(?:attention|heed)\s+to|(?:do\s*n[o']?t|never|stop)\s+(?:follow(?:ing)?"
    r"|obey(?:ing)?|listen(?:ing)?\s+to))"
)
_ORDERS = (
    r"(?:instructions?|prompts?|rules?|guidelines?|guardrails?|restrictions?|constraints?"
    r"|polic(?:y|ies)|directions?|directives?|commands?|orders|programming|training"
    r"|system\s+message|settings|limits|filters?|context|messages?|text|everything|all)"
)
#: What marks the orders as the bot's own rather than a workplace's ("the rules about breaks").
_WHOSE = (
    r"(?:your|ur|all|any|every|these|those|the\s+(?:above|previous|prior|earlier|preceding"
    r"|original|initial|system|old|given)|above|previous|prior|earlier|preceding|original"
    r"|initial|system|old|given|safety|content)"
)
_INJECTION = re.compile(
    # "Disregard the rules above", "forget your instructions", "ignore all previous directions"
    rf"\b{_DROP}\b[^.!?\n]{{0,30}}\b{_WHOSE}\b[^.!?\n]{{0,20}}\b{_ORDERS}\b"
    rf"|\b{_DROP}\b[^.!?\n]{{0,30}}\b{_ORDERS}\b\s*(?:above|before|so\s+far|earlier|you\s+(?:were|have"
    r"\s+been|'ve\s+been)\s+(?:given|told))"
    rf"|\b{_DROP}\s+(?:everything|anything|all|what)\b[^.!?\n]{{0,25}}\b(?:above|before|earlier"
    r"|previous(?:ly)?|prior|so\s+far|(?:you\s+(?:were|have\s+been|'ve\s+been)|i)\s+(?:told|said"
    r"|given|instructed)|told\s+you)\b"
    rf"|\b{_DROP}\s+(?:the\s+)?(?:above|previous|prior|preceding)\b"
    # asking for the prompt: "system prompt", "reveal your instructions", "repeat the text above"
    r"|\bsystem\s*prompts?\b|\bsystem\s+message\b|\b(?:hidden|secret|initial|original|internal)"
    r"\s+(?:prompt|instructions|rules|guidelines|directives|configuration)\b"
    r"|\b(?:reveal|print|show|repeat|display|output|dump|leak|share|recite|echo|list|tell\s+me"
    r"|give\s+me|what\s+(?:are|is|were))\b[^.!?\n]{0,20}\b(?:your|ur)\s+(?:\w+\s+)?(?:instructions"
    r"|prompts?|guidelines|directives|configuration|programming|rules)\b"
    r"|\b(?:repeat|print|output|echo|copy|recite)\b[^.!?\n]{0,20}\b(?:text|words|message|everything"
    r"|lines?)\s+(?:above|before)\b|\bwhat\s+(?:were\s+you|have\s+you\s+been|was\s+you)\s+"
    r"(?:told|instructed|given)\b|\bnew\s+(?:instructions|rules|persona|role|task)\s*[:：]"
    # another role or mode
    r"|\byou\s*(?:are|'re|r)\s+now\b|\bfrom\s+now\s+on,?\s+(?:you|act|pretend|respond|answer"
    r"|ignore|forget)\b|\byou\s*(?:are|'re)\s+no\s+longer\b|\bact\s+as\s+(?:a\s+|an\s+)?(?!call)"
    r"|\bjailbreak|\b(?:developer|dev|admin|god|debug|sudo|unrestricted)\s+mode\b|\bDAN\b"
    r"|\bdo\s+anything\s+now\b|^\s*\[?\s*system\s*\]?\s*[:：]|\[\s*system\s*\]|<\s*/?\s*system\s*>"
    # Korean: "이전 지시는 무시해", "규칙을 무시하고", "시스템 프롬프트 알려줘"
    r"|(?:지시|명령|지침|프롬프트|규칙|룰|제한|제약|설정|가이드라인|원칙|시스템\s*메시지)"
    r"(?:\s*사항)?(?:들)?[^.!?\n]{0,10}(?:무시|잊어|잊고|잊으|잊기|잊어버|어기|벗어나|따르지\s*(?:마|말)"
    r"|신경\s*(?:쓰지|끄)|해제|풀어|취소|초기화|리셋|지워|삭제)"
    # ... said of someone else ("상사 지시를 무시하면 어떻게 돼?") is a question, not an order.
    r"(?!하면|하는|할\s*(?:때|경우|수)|한\s*(?:사람|고객|직원|경우|적)|했을|당하|되|해도|하지|면|는\s)"
    r"|(?:이전|앞|위|기존|원래|지금까지|여태까지|방금)(?:의|에)?\s*(?:모든\s*)?(?:내용|말|대화|지시|명령|지침"
    r"|규칙|설정|메시지|프롬프트)[^.!?\n]{0,10}(?:무시|잊|어기|신경\s*쓰지)"
    r"|(?:이전|위|앞)의?\s*(?:것|거)\s*(?:은|는|을|를|다|전부|모두)?\s*(?:무시|잊)"
    r"|프롬프트|시스템\s*(?:메시지|메세지|지시|지침|설정)"
    r"|(?:너|니|네|당신|넌|너가|니가|네가)\s*(?:의|가|이)?\s*(?:받은\s*)?(?:지시|지침|규칙|명령|설정|룰)"
    r"(?:\s*사항)?\s*(?:을|를|은|는|이|가)?\s*[^.!?\n]{0,10}(?:알려|보여|출력|공개|말해|뭐|읊어|적어)"
    r"|(?:받은|주어진)\s*(?:지시|지침|명령|규칙)(?:\s*사항)?\s*[^.!?\n]{0,10}(?:알려|보여|출력|공개|말해|뭐|읊어)"
    r"|(?:지시|지침|명령|설정)(?:\s*사항)?\s*(?:을|를)?\s*(?:전부|모두|다|그대로)?\s*(?:출력|공개)"
    r"|^\s*시스템\s*[:：]|관리자\s*모드|개발자\s*모드|디버그\s*모드|너는\s*이제|넌\s*이제|지금부터\s*(?:너는|넌)"
    r"|이제부터\s*(?:너는|넌)|역할극|탈옥|내부\s*설정|제한\s*없는\s*(?:AI|모드|버전)",
    re.I,
)


_OFF_TASK = re.compile(
    r"\b(write|compose|make up|create|generate|draft)\b.{0,40}\b(poem|song|story|joke|essay|code|script|program|function|lyrics|haiku|letter|cover letter|resume|cv|e-?mail|message|speech|post|tweet)s?\b"
    r"|\btranslate\b|\btell (me )?a joke\b"
    r"|(시|노래|소설|농담|이야기|가사|코드|프로그램|에세이)\s*(한\s*(편|곡|개|줄))?\s*(좀\s*)?"
    r"(써|지어|만들어|작성해|짜)\s*(줘|주세요|줄래|줄 수|봐|달라)"
    r"|(자기\s*소개서|자소서|이력서|편지|메일|이메일|답장|문자|지원서)\s*(좀\s*)?(대신\s*)?(써|작성해|만들어|짜)\s*(줘|주세요|줄래|줄 수|봐|달라)"
    r"|번역(해|좀)"
    # Role-play: the bot is asked to act, not to inform.
    r"|\brole[- ]?play|\bpretend (to be|you)|\bact (as|like) (a|an|my)\b|\byou be my\b|\bu be my\b"
    r"|역할\s*극|상황극|연기해|(인\s*척|처럼)\s*(해|말해)\s*(줘|봐)",
    re.I,
)


#: A question comparing things, or asking of each ("차이", "vs", "각각", "both").
_COMPARES = re.compile(
    r"차이|비교|다른\s?점|다르|달라|다릅|다름|각각|둘\s?다|\bvs\.?|versus|compar|differ|\bdiff\b"
    r"|\beach\b|\bboth\b|which is which|뭐가 뭔지",
    re.I,
)


#: A question asking what a word means ("what does FCR mean?", "SLA가 무슨 뜻이야?").
_MEANING = re.compile(
    r"\bmean(s|ing)?\b|\bstands? for\b|\bdefin(e|ition)\b|뜻|의미|약자|약어", re.I
)


#: An acronym, also where Korean particles follow it without a space ("CSR이랑").
ACRONYM = re.compile(r"(?<![A-Za-z])[A-Z]{2,5}s?(?![A-Za-z])")


def asks_meaning(text: str) -> bool:
    """Does the question ask what a word means ("FCR", "릴레이 통화")? One definition, not a
    list or a duty. What a skill "means for a rep" is its whole section, so only a short
    question or one about an acronym counts."""
    return bool(_MEANING.search(text)) and (bool(ACRONYM.search(text)) or len(text.split()) <= 5)


#: A follow-up asking for what has not been said yet ("또 뭐 알면 좋아?", "what else?").
_MORE = re.compile(
    r"또\s*(뭐|무엇|어떤|다른)|그\s*외에?|그 밖에|다른\s*건|\bwhat else\b|\banything else\b|\bother than that\b",
    re.I,
)


def asks_more(text: str) -> bool:
    """Does the follow-up ask for something beyond the last answer?"""
    return bool(_MORE.search(text))


#: Where an English question starts a second question: "..., and who do they report to?".
_EN_NEXT_PART = re.compile(
    r",?\s+(?:and|also|plus)\s+(?=(?:who|what|when|where|why|how|which|is|are|do|does|did|can"
    r"|should|will|would)\b)",
    re.I,
)
#: Where a Korean question starts a second one: "... 뭐있고, ...", "...? 그리고 ...".
_KO_NEXT_PART = re.compile(
    r"(?<=[가-힣][고구며]),\s*|(?<=면서),\s*|(?<=[뭐뭔디구마]고)\s+|\s+그리고\s+"
)
_KO_THEN = re.compile(r"^(그리고|또한?|그럼)\s+")
_QUESTION_END = re.compile(r"(?<=\?)\s+(?=\S)")
#: A part needs this many characters of its own to be a question.
_PART_MIN_CHARS = 4


def split_parts(text: str, language: str) -> list[str]:
    """A question asking two things ("what does a director do and who are they accountable
    to?", "다른 호칭 뭐있고, 영업 콜센터에선 뭐라고 불러?") as its two questions, in order;
    one question as itself. Comparisons stay whole: their sides are one answer."""
    if compares(text):
        return [text]
    parts = [p for p in _QUESTION_END.split(text.strip()) if p.strip()]
    if len(parts) == 1:
        pattern = _EN_NEXT_PART if language == "en" else _KO_NEXT_PART
        parts = [p for p in pattern.split(text.strip(), maxsplit=1) if p and p.strip()]
    if len(parts) != 2 or any(len(re.sub(r"\W", "", p)) < _PART_MIN_CHARS for p in parts):
        return [text]
    first, second = (p.strip() for p in parts)
    second = _KO_THEN.sub("", second) if language == "ko" else second
    if language == "en" and not re.search(
        r"\b(?:who|what|whats|when|where|why|how|which|is|are|do|does|can|should)\b", first, re.I
    ):
        return [text]  # "pros and what else": one question with a list in it
    return [first, second]


_ORDINAL_WORDS = {
    "첫": 1,
    "두": 2,
    "세": 3,
    "네": 4,
    "다섯": 5,
    "여섯": 6,
    "일곱": 7,
    "여덟": 8,
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
}
_ORDINAL = re.compile(
    r"(\d{1,2}|첫|두|세|네|다섯|여섯|일곱|여덟)\s*번\s*째"
    r"|#\s?(\d{1,2})\b|\bnumber\s+(\d{1,2})\b|\b(\d{1,2})(?:st|nd|rd|th)\b"
    r"|\b(first|second|third|fourth|fifth|sixth|seventh|eighth)[\s-]+(?:one|item|skill|tip|point"
    r"|con|pro|duty|responsibility|thing|step|on the list|best|highest|most)\b",
    re.I,
)
_LAST = re.compile(
    r"마지막|\blast (?:one|item|duty|skill|tip|point|thing|step|on the list)\b", re.I
)
#: A question asking for any one item ("장점 하나만", "just one con")...
_ANY_ONE = re.compile(
    r"하나만|한\s*가지만|한\s*개만|\b(just|only)\s+one\b|\bone (single )?(con|pro|tip|example|skill"
    r"|downside|upside|advantage|disadvantage|drawback|benefit)\b",
    re.I,
)
#: ...unless it asks for the one the documents single out ("젤 중요한 재능 하나만").
_SUPERLATIVE = re.compile(
    r"가장|젤|제일|최고|꼭|\bmost\b|\bbest\b|\bbiggest\b|\bmain\b|\btop\b|\bkey\b", re.I
)
#: A question picking one item of a list by what it is about ("단점 중에 몸이 지치는 거랑
#: 관련된 건?", "which of the manager's duties involves sales?").
_PICK = re.compile(
    r"중에?서?\s*[^?]{0,40}(관련|거[는야]?\b|건\b|것|어떤\s?[게건거것]|하나|뭐였|무엇)"
    r"|\bwhich (?:one|of)\b|\bone of (?:the|their|his|her|its)\b[^?]{0,60}\b(?:is|about|involves?)\b"
    r"|\bwhat exactly\b|\bthe one (?:about|that|where)\b",
    re.I,
)


def asks_pick(text: str) -> int | None:
    """Does the question pick one item of a list: by its place ("5번째", "#4": that number;
    "마지막", "the last one": -1) or by what it is about (0)? None for the whole list."""
    if _LAST.search(text):
        return -1
    m = _ORDINAL.search(text)
    if m is not None:
        word = next(g for g in m.groups() if g)
        return int(word) if word.isdigit() else _ORDINAL_WORDS[word.lower()]
    # "장점 하나만", "just one con": any one of them, by what it is about when the question
    # says, else the list's first.
    return 0 if _PICK.search(text) or asks_any_one(text) else None


def asks_any_one(text: str) -> bool:
    """Does the question ask for any one item ("장점 하나만")? "The most important one" is
    the one the documents single out, not any item of a list."""
    return bool(_ANY_ONE.search(text)) and not _SUPERLATIVE.search(text)


def compares(text: str) -> bool:
    """Does the question compare things or ask of each one?"""
    return bool(_COMPARES.search(text))


def off_task(text: str) -> bool:
    """Requests to produce something (a poem, code, a translation) rather than to learn something."""
    return bool(_OFF_TASK.search(text))


#: Words that say nothing about the domain or the topic ("것", "방법", "what", "near"): they do
#: not count as evidence a question is in scope, and count little when judging relevance.
GENERIC_WORDS = frozenset(
    [
        "것",
        "수",
        "등",
        "때",
        "경우",
        "중",
        "점",
        "방법",
        "무엇",
        "뭐",
        "오늘",
        "사람",
        "정도",
        "하나",
        "때문",
        "이것",
        "그것",
        "생각",
        "일",
        "곳",
        "말",
        "가지",
        "분",
        "자리",
        "거",
        "좀",
        "요즘",
        "지금",
        "내일",
        "어제",
        "여기",
        "저기",
        "나",
        "너",
        "우리",
        "저",
        "제",
        "이",
        "그",
        "what",
        "how",
        "why",
        "who",
        "when",
        "where",
        "which",
        "do",
        "does",
        "is",
        "are",
        "the",
        "a",
        "an",
        "i",
        "you",
        "me",
        "my",
        "your",
        "it",
        "this",
        "that",
        "can",
        "could",
        "would",
        "should",
        "please",
        "tell",
        "about",
        "for",
        "of",
        "to",
        "in",
        "on",
        "and",
        "or",
        "with",
        "get",
        "good",
        "best",
        "near",
        "알리",
        "말하",
        "설명",
        "알",
        "주",
        "하",
        "되",
        "있",
        "어떻",
        "무슨",
        "어떤",
        "there",
        "any",
    ]
)


@dataclass
class Cleaned:
    text: str
    truncated: bool = False


def clean(text: str, max_chars: int) -> Cleaned:
    """Make any input safe to analyse: no markup, no invisible characters, bounded length."""
    if not isinstance(text, str):
        text = str(text)
    received = len(text)
    # Never spend more than a bounded amount of work on a message, however long it is.
    text = text[: max_chars * 4 + 256]
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFC", text)
    # Invisible characters first: "<\u200b!channel>" must not become markup once they go.
    text = _INVISIBLE.sub("", text)
    text = _PLATFORM_MARKUP.sub(" ", text)
    text = "".join(
        ch
        if (ch.isprintable() or ch in "\n\t") and unicodedata.category(ch) not in {"Cs", "Co"}
        else " "
        for ch in text
    )
    text = _SPACES.sub(" ", text).strip()
    original = len(text) if received <= max_chars * 4 + 256 else received
    if original > max_chars:
        cut = text[:max_chars]
        # Cut at a word boundary when one is near.
        space = cut.rfind(" ")
        text = (cut[:space] if space > max_chars * 0.8 else cut).strip()
        return Cleaned(text=text, truncated=True)
    return Cleaned(text=text)


def has_words(text: str) -> bool:
    """Anything a person could mean: at least one letter or digit."""
    return any(ch.isalnum() for ch in text)


def language_of(text: str) -> Language:
    """'ko' when Hangul is a fair share of the letters, 'en' for Latin text, 'ko' otherwise."""
    hangul = sum("\uac00" <= c <= "\ud7a3" or "\u3131" <= c <= "\u318e" for c in text)
    latin = sum(c.isascii() and c.isalpha() for c in text)
    if hangul == 0 and latin > 0:
        return "en"
    return "ko" if hangul >= latin * 0.25 else "en"


_QUANTITY = re.compile(
    r"몇|얼마|수치|통계|비율|퍼센트|속도|how (many|much|fast|quick|long)|what percent|numbers?\b|figures?\b|statistics|stats\b",
    re.I,
)


def asks_quantity(text: str) -> bool:
    """Does the question ask for a figure ("몇 명", "얼마나", "how much")?"""
    return bool(_QUANTITY.search(text))


#: The question asks for a number: how many, how much, what percent, how long.
_FIGURE_ASKED = re.compile(
    r"몇\s*(명|퍼센트|프로|%|시간|개|년|살|일|달|주|분|단어|배|번)|퍼센트|비율|수치|통계"
    r"|얼마(예요|에요|야|임|인지|인가|일까|죠|나\s*(받|벌|줘|주|돼|되|빨|걸|오래))|기간|시급|연봉\s*얼마"
    r"|얼마\s*정도|얼마쯤|(연봉|월급|급여)\s*(은|는|이|가)?\s*(보통|평균)\s*얼마"
    r"|\bexact\b.{0,20}\b(salary|pay|wage|number|figure)|\b(salary|wage)\s+(of|for)\b"
    r"|\bhow (many|long|fast)\b|\bhow much\b|\bwhat percent|\bpercentage\b|\bhourly\b"
    r"|%|\bpercent\b|\b(in seconds|in minutes)\b"
    r"|몇\s*시\s*(부터|까지|에|쯤)|\bwhat time\b|\bfrom what time\b"
    r"|\b(average|avg|typical|median|annual|yearly)\b.{0,25}\b(time|salary|pay|number|rate)"
    r"|\bratio\b|\bhow many \w+ (per|for each|a)\b|명당|당\s*몇"
    r"|\b(usual|typical|average|avg|exact)\s+number\b|\bnumber of \w+ (per|for each)\b",
    re.I,
)


def asks_figure(question: str) -> bool:
    """Does the question ask for a number that an answer must give (how many, how long, what
    percent, 시급)? Stricter than `asks_quantity`, which also counts "얼마나 힘들어?"."""
    if _RELATIVE.search(question) and not _UNIT_NAMED.search(question):
        return False  # "how long do they take compared to normal calls?": longer or not
    return bool(_FIGURE_ASKED.search(question))


#: A question asking how two things compare ("longer than", "보다 오래"), not for a number...
_RELATIVE = re.compile(r"compar|\bthan\b|\blonger\b|\bshorter\b|보다|비해|비교", re.I)
#: ...unless it names the unit it wants.
_UNIT_NAMED = re.compile(r"\bminutes?\b|\bhours?\b|\bpercent|%|몇\s*분|몇\s*시간|몇\s*%", re.I)


#: Questions whose answer is one reason or one person, however list-like their topic.
_ONE_ANSWER = re.compile(
    r"^\s*(why|who)\b|\bwhy (is|are|do|does|would|should|can)\b|(^|\s)왜|이유가?\s*(뭐|머|무엇)|누가|누구(?!나)",
    re.I,
)


def asks_one(text: str) -> bool:
    """Does the question ask why, or who ("누가 제안해?")? One reason or one person answers."""
    return bool(_ONE_ANSWER.search(text))


_KO_WHAT_IS_THERE = re.compile(r"(어떤|무슨|뭐|무엇|어느)[^?.]{0,15}(있|있어|있나|있을까|있죠)")


def is_list_question(text: str, language: str) -> bool:
    low = text.lower()
    if language == "ko":
        if _KO_WHAT_IS_THERE.search(text):
            return True
        # Chat drops spaces ("하는일머임"): compare the cues without them.
        bare = "".join(text.split())
        fact = any(c in text for c in _FACT_CUES_KO)
        listy = any("".join(c.split()) in bare for c in _LIST_CUES_KO)
        return listy and not (fact and "기술" not in text and "능력" not in text)
    fact = any(c in low for c in _FACT_CUES_EN)
    listy = any(re.search(rf"\b{re.escape(c)}\b", low) for c in _LIST_CUES_EN)
    return listy and not (fact and "skill" not in low)


def refers_back(text: str, language: str) -> bool:
    """Does the question point at something said before ("그 직책", "that job")?"""
    pattern = _ANAPHORA_KO if language == "ko" else _ANAPHORA_EN
    return bool(pattern.search(text))


def instructs_bot(text: str) -> bool:
    """Does the message carry instructions aimed at the bot? Questions are data, never
    instructions, and what surrounds an instruction may be part of it: such a message is
    refused whole."""
    return bool(_INJECTION.search(text))


@dataclass
class Reading:
    """Everything the advisor needs to know about a question before retrieval."""

    text: str  # cleaned question
    language: Language
    list_type: bool
    injection: bool
    query: str  # what is searched (may carry the conversation's focus)
    expansions: list[str] = field(default_factory=list)
    #: One group of the documents' words per glossary concept the question mentions: any word
    #: of a group satisfies it ("연봉" or "급여" or "임금" all answer a question about pay).
    concepts: list[list[str]] = field(default_factory=list)
    #: For each concept, the words of the question that named it ("경력" for experience): they
    #: count as that concept, not a second time as words of their own.
    said: list[list[str]] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)  # glossary role names mentioned
    topics: list[str] = field(default_factory=list)  # glossary topic names mentioned
    focus: str = ""  # role this question is about (mentioned or carried over)
    carried_focus: bool = False
    #: What the question hinges on that no document mentions ("쿠팡", "노조", "2026년"): the
    #: answer says so first, and anything quoted after that is labelled as general.
    specifics: list[str] = field(default_factory=list)
    #: The previous answer, when the question asks for something more ("또 뭐", "what else"):
    #: its statements are not quoted again.
    said_before: str = ""
    #: A follow-up's previous answer: saying it again answers nothing new ("and what decides
    #: if you make more?" after the entry-level figure).
    answered_before: str = ""
    #: The question answered last, when this one points back at what it asked and names
    #: nothing of its own ("do they last longer?" after "what are relay calls?").
    carried_question: str = ""
