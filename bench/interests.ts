/** The interests the bench's learners pick from: a dozen common ones, as profiles carry them. */
const interestPool = [
  "art",
  "books",
  "cooking",
  "films",
  "football",
  "games",
  "music",
  "science",
  "sport",
  "tech",
  "travel",
  "work",
];

/**
 * Learner `n`'s interests when a bench row runs with interests on: four of the pool, so two
 * learners share between none and four of them.
 */
export function benchInterests(n: number): string[] {
  return [0, 1, 2, 3].map((k) => interestPool[(n * 5 + k * 7) % interestPool.length] as string);
}
