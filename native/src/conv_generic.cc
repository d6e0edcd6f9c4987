#include "conv_api.h"
namespace isa_generic {
#define VW 4
#include "conv_impl.h"
}
