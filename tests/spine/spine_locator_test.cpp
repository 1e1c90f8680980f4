#include "spine/spine_locator.h"

#include <gtest/gtest.h>

#include "core/errors.h"

using namespace spinescreen;

TEST(SpineLocator, ThrowsNotApplicableOnEmptyBody) {
  Grid g;
  g.size = {40, 40, 40};
  g.spacing = {2, 2, 2};
  HuVolume v(g, 30);
  EXPECT_THROW(spine::locateSpine(v), NotApplicableError);
}
