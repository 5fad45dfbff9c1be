// bulk: see the module docstring in inbox/bulk (filled in by that feature).
"use strict";
