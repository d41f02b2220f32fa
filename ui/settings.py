"""The names under which the app remembers things between sessions (QSettings keys), in one place.

The keys are what existing users' settings files hold: keep them, add new ones.
"""

# Models: the Train area saves them, the Classify area opens them
LAST_MODEL = "last_model"  # the model file saved or opened last
LAST_MODEL_FOLDER = "last_model_folder"  # where the save and open dialogs start

# Main window
RECENT_FOLDERS = "recent_folders"  # dataset folders, newest first
WINDOW_GEOMETRY = "window/geometry"

# Classify area
RECENT_MODELS = "recent_models"  # model files, newest first
CLASSIFY_FOLDER = "last_classify_folder"
FITS_KEYS = "fits_keys"  # FITS header keywords shown and exported as columns
THRESHOLD = "threshold"  # "uncertain below"
EXPORT_FOLDER = "last_export_folder"
SORT_FOLDER = "last_sort_folder"

# Desktop: the getting-started guide at the top of the window
GUIDE_DISMISSED = "guide/dismissed"  # "Don't show again" was pressed
