"""The annotation loop: pick texts worth a human's time, hand them to Label Studio or Prodigy pre-filled with the
model's labels, and bring the reviewed labels back as ``.spacy`` training data.

- :mod:`.tasks`: review tasks and the space annotators work in (labels or a taxonomy's groups).
- :mod:`.sampling`: score, pick (:mod:`spacy_goemotions.evaluation.selection`) and write tasks.
- :mod:`.label_studio`, :mod:`.prodigy`, :mod:`.plain`: each tool's formats, both ways.
- :mod:`.reviewed`: annotations, conflicts, the label set check, the dev split.
- :mod:`.importing`: an export to DocBins.
"""

from .importing import EXPORT_FORMATS, ImportedAnnotations, import_annotations, read_export, write_training_files
from .label_studio import label_studio_tasks, labelling_config, read_label_studio_export
from .plain import read_plain_export, write_plain_tasks
from .prodigy import prodigy_tasks, read_prodigy_export
from .reviewed import CONFLICT_POLICIES, Annotation, AnnotationError, ExportRead, resolve, reviewed_data, split_dev
from .sampling import TASK_FORMATS, read_exclusions, sample_tasks, write_tasks
from .tasks import ExcludedTexts, ReviewBatch, ReviewSpace, ReviewTask, content_id, pick_tasks

__all__ = [
    "CONFLICT_POLICIES",
    "EXPORT_FORMATS",
    "TASK_FORMATS",
    "Annotation",
    "AnnotationError",
    "ExcludedTexts",
    "ExportRead",
    "ImportedAnnotations",
    "ReviewBatch",
    "ReviewSpace",
    "ReviewTask",
    "content_id",
    "import_annotations",
    "label_studio_tasks",
    "labelling_config",
    "pick_tasks",
    "prodigy_tasks",
    "read_exclusions",
    "read_export",
    "read_label_studio_export",
    "read_plain_export",
    "read_prodigy_export",
    "resolve",
    "reviewed_data",
    "sample_tasks",
    "split_dev",
    "write_plain_tasks",
    "write_tasks",
    "write_training_files",
]
