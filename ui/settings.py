"""The names under which the app remembers things between sessions (QSettings keys), in one place.

The keys are what existing users' settings files hold: keep them, add new ones.
"""

LAST_MODEL = "last_model"  # the model file saved or opened last
LAST_MODEL_FOLDER = "last_model_folder"  # where the save and open dialogs start
