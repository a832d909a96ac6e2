// Catch2 (v2) main, compiled once into rmsmp_catch_main and linked into every
// test_<stem> executable. Test files only `#include <catch2/catch.hpp>`.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
