# Debian's ITK 5.2 was built with GCC and its itk_compiler_detection.h rejects clang. For the
# clang-only libFuzzer build, write a copy that accepts clang (taking GCC 12's feature table,
# which clang 14 meets) and force-include it; its include guard then hides the original.
set(_itk_detect "${ITK_INCLUDE_DIRS}")
find_file(ITK_COMPILER_DETECTION_H itk_compiler_detection.h PATHS ${ITK_INCLUDE_DIRS} NO_DEFAULT_PATH)
if(NOT ITK_COMPILER_DETECTION_H)
  message(FATAL_ERROR "itk_compiler_detection.h not found in ${ITK_INCLUDE_DIRS}")
endif()
file(READ "${ITK_COMPILER_DETECTION_H}" _text)
string(REPLACE "#  if ITK_COMPILER_IS_GNU\n" "#  if ITK_COMPILER_IS_GNU || ITK_COMPILER_IS_Clang\n"
       _text "${_text}")
string(REPLACE "#    include \"compilers/ITK_COMPILER_INFO_GNU_CXX.h\""
"#    pragma push_macro(\"__GNUC__\")
#    pragma push_macro(\"__GNUC_MINOR__\")
#    undef __GNUC__
#    undef __GNUC_MINOR__
#    define __GNUC__ 12
#    define __GNUC_MINOR__ 2
#    include <compilers/ITK_COMPILER_INFO_GNU_CXX.h>
#    pragma pop_macro(\"__GNUC__\")
#    pragma pop_macro(\"__GNUC_MINOR__\")" _text "${_text}")
set(ITK_CLANG_COMPAT_H "${CMAKE_BINARY_DIR}/itk_clang_compat/itk_compiler_detection_clang.h")
file(WRITE "${ITK_CLANG_COMPAT_H}" "${_text}")
add_compile_options("SHELL:-include ${ITK_CLANG_COMPAT_H}" -Wno-builtin-macro-redefined)
