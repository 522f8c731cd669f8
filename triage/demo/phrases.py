"""What the demo's reports say, and what each sentence means (the generator's ground truth).

Sentences are written the way radiologists and sonographers write DVT reports. Each
``Incidental`` pairs a Findings sentence (in the side's section) with the Impression line
that repeats it, and names the one finding id a reader must flag with its certainty.
``NEGATED``, ``RESOLVED`` and ``INDICATIONS`` mention findings that must not be flagged.
Templates take ``{size}`` (e.g. ``3.2``), ``{dims}`` (``3.2 x 1.4``), ``{side}`` and
``{Side}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Certainty = Literal["definite", "possible"]


@dataclass(frozen=True, slots=True)
class Incidental:
    finding: str
    certainty: Certainty
    body: str  # Findings section of the side, which carries the laterality
    impression: str  # the Summary line; names the side
    knee: bool = False  # imaged at the knee (BodyPartExamined KNEE)


INCIDENTALS: tuple[Incidental, ...] = (
    Incidental(
        "bakers_cyst",
        "definite",
        "Incidental {dims} cm Baker's cyst in the medial popliteal fossa.",
        "Incidental {side} Baker's cyst measuring {size} cm.",
        knee=True,
    ),
    Incidental(
        "bakers_cyst",
        "definite",
        "A {size} cm complex Baker's cyst with internal septations is noted in the "
        "popliteal fossa.",
        "Complex {side} Baker's cyst.",
        knee=True,
    ),
    Incidental(
        "bakers_cyst",
        "definite",
        "Anechoic collection in the popliteal fossa communicating with the joint between "
        "the medial gastrocnemius and semimembranosus, consistent with a Baker's cyst.",
        "{Side} Baker's cyst, {dims} cm.",
        knee=True,
    ),
    Incidental(
        "bakers_cyst",
        "definite",
        "Popliteal cyst measuring {dims} cm, with layering debris.",
        "{Side} Baker's cyst with layering debris.",
        knee=True,
    ),
    Incidental(
        "bakers_cyst",
        "definite",
        "Baker's cyst, previously ruptured, now intact.",
        "{Side} Baker's cyst, {size} cm, now intact.",
        knee=True,
    ),
    Incidental(
        "bakers_cyst",
        "possible",
        "Hypoechoic structure in the popliteal fossa may represent a small Baker's cyst.",
        "Possible small {side} Baker's cyst.",
        knee=True,
    ),
    Incidental(
        "ruptured_bakers_cyst",
        "definite",
        "Baker's cyst with irregular margins and fluid extending into the calf, compatible "
        "with rupture.",
        "Ruptured {side} Baker's cyst, a clinical mimic of DVT.",
        knee=True,
    ),
    Incidental(
        "ruptured_bakers_cyst",
        "definite",
        "Ruptured Baker's cyst with fluid tracking inferiorly along the medial gastrocnemius.",
        "{Side} ruptured Baker's cyst.",
        knee=True,
    ),
    Incidental(
        "ruptured_bakers_cyst",
        "possible",
        "Small Baker's cyst with a thin rim of fluid tracking inferiorly, suspicious for "
        "early rupture.",
        "Small {side} Baker's cyst, suspicious for early rupture.",
        knee=True,
    ),
    Incidental(
        "joint_effusion",
        "definite",
        "Small knee joint effusion.",
        "Small {side} knee joint effusion.",
        knee=True,
    ),
    Incidental(
        "joint_effusion",
        "definite",
        "Moderate suprapatellar joint effusion.",
        "Moderate {side} knee effusion.",
        knee=True,
    ),
    Incidental(
        "joint_effusion",
        "possible",
        "Possible small joint effusion.",
        "Possible small {side} knee joint effusion.",
        knee=True,
    ),
    Incidental(
        "synovitis",
        "definite",
        "Synovial thickening with hyperemia in the suprapatellar recess.",
        "{Side} knee synovitis.",
        knee=True,
    ),
    Incidental(
        "muscle_injury",
        "definite",
        "Hypoechoic fluid collection between the medial gastrocnemius and soleus, consistent "
        "with a medial gastrocnemius tear (tennis leg).",
        "{Side} medial gastrocnemius tear.",
    ),
    Incidental(
        "muscle_injury",
        "definite",
        "Partial-thickness tear of the medial gastrocnemius muscle, {size} cm in length.",
        "Partial tear of the {side} medial gastrocnemius muscle.",
    ),
    Incidental(
        "muscle_injury",
        "definite",
        "Partial tear of the medial head of the gastrocnemius at the myotendinous junction.",
        "{Side} medial gastrocnemius partial tear.",
    ),
    Incidental(
        "muscle_injury",
        "definite",
        "Strain of the medial head of the gastrocnemius.",
        "{Side} medial gastrocnemius strain.",
    ),
    Incidental(
        "hematoma",
        "definite",
        "{dims} cm intramuscular hematoma within the medial gastrocnemius.",
        "{Side} calf intramuscular hematoma.",
    ),
    Incidental(
        "hematoma",
        "possible",
        "Heterogeneous avascular collection in the calf musculature, likely hematoma.",
        "Probable {side} calf hematoma.",
    ),
    Incidental(
        "abscess",
        "possible",
        "{size} cm thick-walled collection with internal debris and peripheral hyperemia in "
        "the lateral thigh, concerning for abscess.",
        "Collection in the {side} thigh concerning for abscess.",
    ),
    Incidental(
        "tendon_abnormality",
        "definite",
        "Thickened, hypoechoic distal semimembranosus tendon consistent with tendinosis.",
        "{Side} distal semimembranosus tendinosis.",
        knee=True,
    ),
    Incidental(
        "soft_tissue_mass",
        "possible",
        "Well-circumscribed hyperechoic subcutaneous lesion in the calf measuring {size} cm, "
        "likely a lipoma.",
        "Probable {side} calf lipoma.",
    ),
    Incidental(
        "soft_tissue_mass",
        "definite",
        "Incidental note of a {size} cm lipoma in the subcutaneous fat of the thigh.",
        "{Side} thigh lipoma.",
    ),
    Incidental(
        "foreign_body",
        "definite",
        "Linear echogenic foreign body in the subcutaneous tissues of the anterior shin with a "
        "hypoechoic halo.",
        "Retained foreign body in the {side} anterior shin.",
    ),
    Incidental(
        "bursitis",
        "definite",
        "Distended pes anserine bursa.",
        "{Side} pes anserine bursitis.",
        knee=True,
    ),
    Incidental(
        "gout",
        "definite",
        "Double contour sign over the femoral trochlear cartilage.",
        "Double contour sign at the {side} knee, in keeping with gout.",
        knee=True,
    ),
)

# Findings-section sentences that mention a finding only to deny it.
NEGATED: tuple[str, ...] = (
    "No Baker's cyst.",
    "No Baker's cyst or knee joint effusion.",
    "No popliteal cyst or other fluid collection.",
    "No intramuscular hematoma or fluid collection.",
    "No evidence of a Baker's cyst or joint effusion.",
    "Negative for Baker's cyst.",
    "No knee joint effusion or Baker's cyst.",
    "No evidence of ruptured Baker's cyst.",
    "Baker's cyst is not seen today.",
)

# A finding that was there before and is not now.
RESOLVED: tuple[str, ...] = (
    "The previously seen Baker's cyst has resolved.",
    "Previously noted Baker's cyst is no longer seen.",
    "Known Baker's cyst, not re-demonstrated on this study.",
)

# Indications (clinical information): a suspicion is not a finding.
INDICATIONS: tuple[str, ...] = (
    "{Side} calf pain and swelling. ? DVT ? ruptured Baker's cyst.",
    "{Side} posterior knee swelling, rule out Baker's cyst versus DVT.",
    "{Side} calf injury playing tennis; ? gastrocnemius tear ? DVT.",
    "Known {side} Baker's cyst, now calf swelling; exclude DVT.",
)

# Indications with nothing an MSK reader cares about.
PLAIN_INDICATIONS: tuple[str, ...] = (
    "{Side} leg swelling for 3 days; exclude DVT.",
    "{Side} calf pain after long-haul flight. Wells score 2.",
    "Raised D-dimer, {side} leg pain.",
    "{Side} lower limb swelling post knee arthroscopy.",
)

# Non-MSK findings a reader must not flag (DESIGN.md "Not flagged").
DISTRACTORS: tuple[str, ...] = (
    "Reactive-appearing inguinal lymph nodes with preserved fatty hila.",
    "Subcutaneous edema in the calf without a drainable collection.",
    "Superficial thrombophlebitis of the great saphenous vein at the mid thigh.",
    "Trace suprapatellar fluid, likely physiologic.",
    "Varicose veins in the calf; no Baker's cyst.",
)

# What a sonographer types into the image comments: technique, never findings.
SONOGRAPHER_NOTES: tuple[str, ...] = (
    "Compression views CFV to popliteal.",
    "Augmentation performed at each level.",
    "Pt unable to lie flat; scanned semi-recumbent.",
    "Limited views of the calf veins due to swelling.",
    "Pt tolerated exam well.",
)

# Per-vessel findings of a DVT study.
VESSEL_NORMAL = "Compressible, with spontaneous phasic flow and normal augmentation."
VESSEL_THROMBUS = "Non-compressible, with echogenic intraluminal thrombus and absent flow."

IMPRESSION_NORMAL = "No deep venous thrombosis in the {side} lower extremity."
IMPRESSION_DVT = "Acute deep venous thrombosis of the {side} {vessels}."

# An amendment that adds a finding (an addendum) or takes one back.
ADDENDUM = "Addendum: on review of the stored images, {impression}"
RETRACTIONS: tuple[str, ...] = (
    "Amended report: the structure previously described in the {side} popliteal fossa is a "
    "popliteal vein varix. No Baker's cyst.",
    "Amended report: the previously reported {side} Baker's cyst was an error; no Baker's "
    "cyst is present.",
)
