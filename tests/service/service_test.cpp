// The service's policy, configuration and crash-safe job state (no Orthanc needed).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "service/config.h"
#include "service/job_store.h"
#include "service/policy.h"

using namespace spinescreen;
using namespace spinescreen::service;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("spinescreen-service-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

SeriesFacts ctFacts() {
  SeriesFacts f;
  f.modality = "CT";
  f.bodyPart = "ABDOMEN";
  f.ageYears = 67;
  f.slices = 120;
  return f;
}
}  // namespace

TEST(Policy, AcceptsAnOlderPatientsCtSeries) { EXPECT_TRUE(decide(ctFacts(), {}).accept); }

TEST(Policy, SkipsPatientsYoungerThanTheMinimumAge) {
  auto f = ctFacts();
  f.ageYears = 49.5;
  const auto d = decide(f, {});
  EXPECT_FALSE(d.accept);
  EXPECT_NE(d.reason.find("minimum age"), std::string::npos);
  SeriesPolicy p;
  p.minAgeYears = 40;
  EXPECT_TRUE(decide(f, p).accept);
}

TEST(Policy, UnknownAgeIsAnalysedByDefaultAndMarked) {
  auto f = ctFacts();
  f.ageYears.reset();
  auto d = decide(f, {});
  EXPECT_TRUE(d.accept);
  EXPECT_TRUE(d.ageUnknown);
  SeriesPolicy p;
  p.analyseUnknownAge = false;
  d = decide(f, p);
  EXPECT_FALSE(d.accept);
  EXPECT_TRUE(d.ageUnknown);
}

TEST(Policy, SkipsNonCtAndShortSeries) {
  auto f = ctFacts();
  f.modality = "SR";
  EXPECT_FALSE(decide(f, {}).accept);
  f = ctFacts();
  f.slices = 9;
  EXPECT_FALSE(decide(f, {}).accept);
  SeriesPolicy p;
  p.minSlices = 5;
  EXPECT_TRUE(decide(f, p).accept);
}

TEST(Policy, BodyPartListIsCaseInsensitiveAndMissingIsConfigurable) {
  SeriesPolicy p;
  p.bodyParts = {"chest", "Abdomen"};
  auto f = ctFacts();
  EXPECT_TRUE(decide(f, p).accept);
  f.bodyPart = "HEAD";
  EXPECT_FALSE(decide(f, p).accept);
  f.bodyPart = "";
  EXPECT_TRUE(decide(f, p).accept);
  p.acceptMissingBodyPart = false;
  EXPECT_FALSE(decide(f, p).accept);
}

TEST(Policy, ParsesDicomAgesAndDates) {
  EXPECT_DOUBLE_EQ(*parseDicomAge("067Y"), 67.0);
  EXPECT_DOUBLE_EQ(*parseDicomAge("018M"), 1.5);
  EXPECT_FALSE(parseDicomAge("67Y"));
  EXPECT_FALSE(parseDicomAge("067X"));
  EXPECT_FALSE(parseDicomAge(""));
  EXPECT_DOUBLE_EQ(*ageFromDates("19540312", "20250311"), 70.0);
  EXPECT_DOUBLE_EQ(*ageFromDates("19540312", "20250312"), 71.0);
  EXPECT_FALSE(ageFromDates("1954", "20250312"));
  EXPECT_FALSE(ageFromDates("20300101", "20250312"));
}

TEST(ServiceConfig, ReadsKeysAndRejectsUnknownOnes) {
  TempDir d;
  const auto path = (d.path / "s.json").string();
  std::ofstream(path) << R"({"orthanc_url": "http://127.0.0.1:9042", "orthanc_username": "u",
    "orthanc_password": "p", "workers": 2, "policy": {"min_age_years": 55,
    "analyse_unknown_age": false, "body_parts": ["CHEST"], "min_slices": 20}})";
  const ServiceConfig c = loadServiceConfig(path);
  EXPECT_EQ(c.orthancUrl, "http://127.0.0.1:9042");
  EXPECT_EQ(c.orthancUser, "u");
  EXPECT_EQ(c.workers, 2);
  EXPECT_DOUBLE_EQ(c.policy.minAgeYears, 55);
  EXPECT_FALSE(c.policy.analyseUnknownAge);
  EXPECT_EQ(c.policy.bodyParts.size(), 1u);
  EXPECT_EQ(c.policy.minSlices, 20);
  std::ofstream(path) << R"({"orthanc_pasword": "typo"})";
  EXPECT_THROW(loadServiceConfig(path), UsageError);
  std::ofstream(path) << R"({"workers": 0})";
  EXPECT_THROW(loadServiceConfig(path), UsageError);
  std::ofstream(path) << R"({"workers": "two"})";
  EXPECT_THROW(loadServiceConfig(path), UsageError);
  std::ofstream(path) << R"({"feed_start": "middle"})";
  EXPECT_THROW(loadServiceConfig(path), UsageError);
  std::ofstream(path) << R"({"status_host": "0.0.0.0"})";  // status stays on loopback
  EXPECT_THROW(loadServiceConfig(path), UsageError);
  std::ofstream(path) << "{not json";
  EXPECT_THROW(loadServiceConfig(path), UsageError);
  EXPECT_THROW(loadServiceConfig((d.path / "missing.json").string()), UsageError);
}

TEST(JobStore, FeedEntriesCreateOneJobPerSeriesAndAdvanceThePosition) {
  TempDir d;
  JobStore s((d.path / "state.sqlite").string());
  EXPECT_EQ(s.feedPosition(), 0);
  EXPECT_TRUE(s.enqueueFromFeed("series-a", 5));
  EXPECT_FALSE(s.enqueueFromFeed("series-a", 9));  // stable again: not a second job
  EXPECT_TRUE(s.enqueueFromFeed("series-b", 12));
  EXPECT_EQ(s.feedPosition(), 12);
  s.setFeedPosition(10);  // never goes back
  EXPECT_EQ(s.feedPosition(), 12);
  EXPECT_EQ(s.counts().queued, 2);
}

TEST(JobStore, StateSurvivesReopeningAndRunningJobsAreResumed) {
  TempDir d;
  const auto path = (d.path / "state.sqlite").string();
  {
    JobStore s(path);
    s.enqueueFromFeed("series-a", 3);
    s.enqueueFromFeed("series-b", 4);
    auto j = s.claimNext();
    ASSERT_TRUE(j);
    EXPECT_EQ(j->seriesId, "series-a");
    EXPECT_EQ(j->state, JobState::kRunning);
    EXPECT_EQ(j->attempts, 1);
    // The process dies here, with series-a running.
  }
  JobStore s(path);
  EXPECT_EQ(s.feedPosition(), 4);
  EXPECT_EQ(s.recoverAfterRestart(), 1);
  auto j = s.claimNext();
  ASSERT_TRUE(j);
  EXPECT_EQ(j->seriesId, "series-a");
  EXPECT_EQ(j->attempts, 2);
  s.finish("series-a", JobState::kNoOutput, "not applicable: no spine in view");
  j = s.claimNext();
  ASSERT_TRUE(j);
  EXPECT_EQ(j->seriesId, "series-b");
  s.finish("series-b", JobState::kDone, "stored");
  EXPECT_FALSE(s.claimNext());  // nothing is repeated
  EXPECT_EQ(s.get("series-a")->reason, "not applicable: no spine in view");
}

TEST(JobStore, FailuresAreRetriedABoundedNumberOfTimes) {
  TempDir d;
  JobStore s((d.path / "state.sqlite").string());
  s.enqueueFromFeed("series-a", 1);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto j = s.claimNext();
    ASSERT_TRUE(j) << attempt;
    EXPECT_EQ(j->attempts, attempt);
    const JobState st = s.failAttempt("series-a", "Orthanc unreachable", 3);
    EXPECT_EQ(st, attempt < 3 ? JobState::kQueued : JobState::kFailed);
  }
  EXPECT_FALSE(s.claimNext());
  EXPECT_EQ(s.counts().failed, 1);
  EXPECT_EQ(s.get("series-a")->reason, "Orthanc unreachable");
}

TEST(JobStore, AnInterruptedUploadResumesAsAnUploadWithTheSameFiles) {
  TempDir d;
  const auto path = (d.path / "state.sqlite").string();
  {
    JobStore s(path);
    s.enqueueFromFeed("series-a", 1);
    ASSERT_TRUE(s.claimNext());
    s.markUploading("series-a", "/w/sr.dcm", "/w/sc.dcm");
  }
  JobStore s(path);
  s.recoverAfterRestart();
  auto j = s.claimNext();
  ASSERT_TRUE(j);
  EXPECT_EQ(j->state, JobState::kUploading);
  EXPECT_EQ(j->srPath, "/w/sr.dcm");
  EXPECT_EQ(j->scPath, "/w/sc.dcm");
  // A failed upload stays an upload (never a second analysis with new UIDs).
  EXPECT_EQ(s.failAttempt("series-a", "upload: refused", 5, JobState::kUploading),
            JobState::kUploading);
}

TEST(JobStore, UnusablePathIsAUsageError) {
  EXPECT_THROW(JobStore("/nonexistent-dir/sub/state.sqlite"), UsageError);
}
