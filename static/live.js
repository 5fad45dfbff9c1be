// live: see the module docstring in inbox/live (filled in by that feature).
"use strict";
