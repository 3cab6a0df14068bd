import { type SQL, sql } from "drizzle-orm";

/**
 * Sentences a history is made of, in the scripts learners practise in: spaced (English, Uzbek,
 * Russian, Spanish, Arabic) and unspaced (Japanese, Chinese, Thai). Each message is one of them with
 * a word of `vocabulary` and a number, so no two sessions read alike and the trigram index sees
 * the variety of a real table; one message in 500 mentions a passport office, the rare word.
 */
const sentences = [
  "I went to the market yesterday and bought",
  "Could you say that again more slowly, please",
  "My favourite season is autumn because of the",
  "We should practise the past tense with",
  "Kecha bozorga bordim va sotib oldim",
  "Men har kuni ertalab ingliz tilini o'rganaman",
  "Вчера я ходил на рынок и купил",
  "Давай поговорим о путешествиях и о",
  "Ayer fui al mercado y compré",
  "Me gustaría practicar la pronunciación de",
  "ذهبت إلى السوق أمس واشتريت",
  "昨日は市場に行って買いました",
  "日本語の発音を練習したいです",
  "我昨天去市场买了",
  "我们来谈谈旅行和",
  "เมื่อวานฉันไปตลาดและซื้อ",
  "ฉันอยากฝึกออกเสียงภาษาอังกฤษ",
];
const vocabulary = [
  "apples",
  "bread",
  "tomatoes",
  "a guitar",
  "olma",
  "non",
  "яблоки",
  "хлеб",
  "manzanas",
  "pan",
  "تفاح",
  "りんご",
  "パン",
  "苹果",
  "面包",
  "แอปเปิ้ล",
  "ขนมปัง",
  "the weather",
  "my family",
  "the weekend",
];

const textArray = (values: string[]) =>
  sql`array[${sql.join(
    values.map((value) => sql`${value}`),
    sql`, `,
  )}]::text[]`;

/**
 * One statement that gives `searcherId` a history of `sessions` ended sessions of
 * `messagesPerSession` messages each (half theirs, half their partner's), and writes as many
 * sessions again, `strangerFactor` times over, between strangers — a real table holds mostly other
 * people's messages, which the search must not read. Messages are a minute apart, oldest first.
 * Returns nothing; the rows carry a `run` tag in their users' emails.
 */
export function searchCorpus(options: {
  searcherId: string;
  run: string;
  sessions: number;
  messagesPerSession: number;
  strangerFactor: number;
}): SQL {
  const { searcherId, run, sessions, messagesPerSession, strangerFactor } = options;
  const strangerSessions = sessions * strangerFactor;
  return sql`
    with people as (
      select n, gen_random_uuid() as id from generate_series(1, ${sessions + 2 * strangerSessions}) as n
    ), made_users as (
      insert into users (id, email) select id, 'corpus-' || ${run} || '-' || n || '@example.com' from people
    ), pairs as (
      select n, gen_random_uuid() as id,
        case when n <= ${sessions} then ${searcherId}::uuid
          else (select id from people where people.n = ${sessions} + 2 * (s.n - ${sessions}) - 1) end as first,
        case when n <= ${sessions} then (select id from people where people.n = s.n)
          else (select id from people where people.n = ${sessions} + 2 * (s.n - ${sessions})) end as second
      from generate_series(1, ${sessions + strangerSessions}) as s(n)
    ), made_sessions as (
      insert into sessions (id, level, status, started_at, ended_at, duration_sec)
      select id, 'B1', 'ended', now() - interval '30 days' + n * interval '1 hour',
        now() - interval '30 days' + n * interval '1 hour' + interval '20 minutes', 1200
      from pairs
    ), members as (
      insert into session_participants (session_id, user_id)
      select id, first from pairs union all select id, second from pairs
    )
    insert into messages (session_id, sender_id, type, text, created_at)
    select p.id, case when m % 2 = 0 then p.first else p.second end, 'text',
      (${textArray(sentences)})[1 + (p.n * 31 + m * 7) % ${sentences.length}] || ' '
        || (${textArray(vocabulary)})[1 + (p.n * 13 + m * 3) % ${vocabulary.length}] || ' #' || m
        -- A rare word too: in one message of 500, as a name or a place comes up.
        || case when (p.n * 100 + m) % 500 = 0 then ' at the passport office' else '' end,
      now() - interval '30 days' + p.n * interval '1 hour' + m * interval '1 second'
    from pairs p, generate_series(1, ${messagesPerSession}) as m
  `;
}
