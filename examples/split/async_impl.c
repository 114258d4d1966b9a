/* async_impl.c - the one file of the program that compiles async.h's
 * definitions.  Built with the same settings as every other file. */
#define ASYNC_IMPLEMENTATION
#include "kitchen.h"
