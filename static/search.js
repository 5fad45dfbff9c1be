// search: see the module docstring in inbox/search (filled in by that feature).
"use strict";
