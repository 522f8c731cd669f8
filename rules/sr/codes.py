"""Well-known concept codes (PS3.16) used by the reader's helpers, the builder and rules.

Compare codes with ``==`` (value + scheme); meanings are for display only. SNOMED codes
are given as SCT: the reader maps legacy SRT codes in documents to these.
"""

from __future__ import annotations

from rules.sr.model import Code

# Report titles
DIAGNOSTIC_IMAGING_REPORT = Code("18748-4", "LN", "Diagnostic Imaging Report")
VASCULAR_ULTRASOUND_REPORT = Code("125100", "DCM", "Vascular Ultrasound Procedure Report")
IMAGING_MEASUREMENT_REPORT = Code("126000", "DCM", "Imaging Measurement Report")
US_LOWER_EXTREMITY_VESSELS = Code("44174-1", "LN", "US Doppler Lower Extremity Vessels Report")

# TID 2000 headings (CID 7001) and report elements (CID 7002)
FINDINGS = Code("59776-5", "LN", "Findings")
FINDINGS_DCM = Code("121070", "DCM", "Findings")
FINDING = Code("121071", "DCM", "Finding")
IMPRESSIONS = Code("19005-8", "LN", "Impressions")
IMPRESSION = Code("121073", "DCM", "Impression")
CLINICAL_INFORMATION = Code("55752-0", "LN", "Clinical Information")
HISTORY = Code("121060", "DCM", "History")
INDICATIONS_FOR_PROCEDURE = Code("121109", "DCM", "Indications for Procedure")
RECOMMENDATIONS = Code("18783-1", "LN", "Recommendations")
RECOMMENDATION = Code("121075", "DCM", "Recommendation")
SUMMARY = Code("121111", "DCM", "Summary")
COMMENT = Code("121106", "DCM", "Comment")
PATIENT_CHARACTERISTICS = Code("121118", "DCM", "Patient Characteristics")

# Modifiers
FINDING_SITE = Code("363698007", "SCT", "Finding Site")
LATERALITY = Code("272741003", "SCT", "Laterality")
LEFT = Code("7771000", "SCT", "Left")
RIGHT = Code("24028007", "SCT", "Right")
BILATERAL = Code("51440002", "SCT", "Bilateral")
PRESENCE = Code("121052", "DCM", "Presence of property")
PRESENT = Code("52101004", "SCT", "Present")
ABSENT = Code("272519000", "SCT", "Absent")
PROCEDURE_REPORTED = Code("121058", "DCM", "Procedure reported")
LANGUAGE = Code("121049", "DCM", "Language of Content Item and Descendants")
ENGLISH_US = Code("en-US", "RFC5646", "English (United States)")
PERSON_OBSERVER_NAME = Code("121008", "DCM", "Person Observer Name")

# TID 1500
IMAGE_LIBRARY = Code("111028", "DCM", "Image Library")
IMAGING_MEASUREMENTS = Code("126010", "DCM", "Imaging Measurements")
MEASUREMENT_GROUP = Code("125007", "DCM", "Measurement Group")
TRACKING_IDENTIFIER = Code("112039", "DCM", "Tracking Identifier")
TRACKING_UID = Code("112040", "DCM", "Tracking Unique Identifier")
LENGTH = Code("410668003", "SCT", "Length")

# TID 5100 (vascular ultrasound)
VEIN_OF_LOWER_EXTREMITY = Code(
    "122774002", "SCT", "Structure of vein of lower extremity (body structure)"
)
COMMON_FEMORAL_VEIN = Code("397363009", "SCT", "Common Femoral Vein")
FEMORAL_VEIN = Code("397364003", "SCT", "Superficial Femoral Vein")
POPLITEAL_VEIN = Code("56849005", "SCT", "Popliteal Vein")
POSTERIOR_TIBIAL_VEIN = Code("4258007", "SCT", "Posterior Tibial Vein")
GREAT_SAPHENOUS_VEIN = Code("60734001", "SCT", "Great saphenous vein")
PEAK_SYSTOLIC_VELOCITY = Code("11726-7", "LN", "Peak Systolic Velocity")
END_DIASTOLIC_VELOCITY = Code("11653-3", "LN", "End Diastolic Velocity")

# Findings and anatomy the MSK rules talk about
CYST = Code("367643001", "SCT", "Cyst")
EFFUSION = Code("41699000", "SCT", "Effusion")
HEMATOMA = Code("35566002", "SCT", "Hematoma")
ABSCESS = Code("44132006", "SCT", "Abscess")
THROMBUS = Code("396339007", "SCT", "Thrombus")
POPLITEAL_FOSSA = Code("32361000", "SCT", "Popliteal fossa")
KNEE_JOINT = Code("49076000", "SCT", "Knee joint")

# Units (UCUM)
CM_PER_S = Code("cm/s", "UCUM", "centimeter/second")
CM = Code("cm", "UCUM", "centimeter")
MM = Code("mm", "UCUM", "millimeter")
