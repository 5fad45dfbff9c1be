// keyboard: see the module docstring in inbox/keyboard (filled in by that feature).
"use strict";
