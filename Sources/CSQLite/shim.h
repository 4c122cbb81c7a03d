// The SQLite C API from Debian's libsqlite3-dev (the only C glue WardenStore needs).
#include <sqlite3.h>
