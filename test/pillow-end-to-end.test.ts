import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nano from 'nano';
import { setupSuite, eventually, cancelAndWait, type Suite } from './helpers/harness';
import { caseDoc, formDoc, writeDocs } from '../src/dev/demo-data';
import { postgresMirror } from '../src/processors/postgres-mirror';
import { postgresTable } from '../src/processors/postgres-table';
import type { PillowDefinition } from '../src/config/pillow-definition';

describe('a pillow started with the plain Temporal CLI', () => {
  let s: Suite;
  let db: string;
  const name = 'e2e';
  let pillow: PillowDefinition;

  before(async () => {
    s = await setupSuite('e2e');
    db = await s.couchDb('cases');
    pillow = {
      name,
      source: { db },
      filter: { docTypes: ['CommCareCase'] },
      batchSize: 50,
      longPollSeconds: 2,
      processors: [
        postgresMirror({ table: 'e2e_mirror' }),
        postgresTable({
          table: 'e2e_index',
          columns: [
            { name: 'owner_id', type: 'text' },
            { name: 'age', type: 'integer', expression: 'properties.age' },
            { name: 'village', type: 'text', expression: 'properties.village' },
          ],
        }),
      ],
    };
    await s.startWorker([pillow]);
  });
  after(() => s.cleanup());

  const count = async (sql: string) => Number((await s.pool.query(sql)).rows[0].n);

  test('writes, updates and deletes reach PostgreSQL; filtered doc types never do', async () => {
    const docs = Array.from({ length: 120 }, (_, i) => caseDoc(i));
    const forms = Array.from({ length: 10 }, (_, i) => formDoc(i));
    const revs = await writeDocs(s.couchUrl, db, [...docs, ...forms]);

    await s.startPillowCli(name);
    await eventually('120 rows in the mirror', async () => (await count('SELECT count(*) n FROM e2e_mirror')) === 120);
    assert.equal(await count('SELECT count(*) n FROM e2e_index'), 120);
    assert.equal(await count(`SELECT count(*) n FROM e2e_mirror WHERE id LIKE 'form-%'`), 0, 'forms are filtered out');

    // update one, delete another
    const database = nano(s.couchUrl).use(db);
    const updated = { ...caseDoc(5, 1), _rev: revs.get('case-00000005') };
    await database.insert(updated);
    await database.destroy('case-00000006', revs.get('case-00000006')!);
    await eventually('update and delete applied', async () => {
      const row = (
        await s.pool.query(`SELECT doc->>'name' AS name, rev_num FROM e2e_mirror WHERE id = 'case-00000005'`)
      ).rows[0];
      const gone = await count(`SELECT count(*) n FROM e2e_index WHERE doc_id = 'case-00000006'`);
      const tomb = (await s.pool.query(`SELECT deleted, doc FROM e2e_mirror WHERE id = 'case-00000006'`)).rows[0];
      return (
        row?.name === 'Case 5 v1' && row.rev_num === 2 && gone === 0 && tomb?.deleted === true && tomb.doc === null
      );
    });
    const indexRow = (await s.pool.query(`SELECT age, village, doc_rev FROM e2e_index WHERE doc_id = 'case-00000005'`))
      .rows[0];
    assert.equal(indexRow.age, caseDoc(5, 1).properties && (caseDoc(5, 1).properties as { age: number }).age);
    assert.match(indexRow.doc_rev, /^2-/);

    // the rows commit with their page; the workflow counts the page when its slice returns, a moment later
    await eventually(
      'the workflow counted the update and the delete',
      async () => (await s.status(name)).processed >= 122,
    );
    const status = await s.status(name);
    assert.equal(status.name, name);
    assert.equal(status.processed, 122, 'each case once, plus the update and the delete');
    assert.equal(status.skipped, 10);
    assert.equal(status.failed, 0);
  });

  test('a cancel and a new start with only the name resume from the checkpoint', async () => {
    const before = await s.status(name);
    await cancelAndWait(s.client, `pillow/${name}`);
    const stored = (await s.pool.query(`SELECT seq FROM pillowtop_checkpoints WHERE pillow = $1`, [name])).rows[0].seq;
    assert.equal(stored, before.checkpoint, 'checkpoint mirror matches the workflow state');

    // written while stopped
    await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 30 }, (_, i) => caseDoc(1000 + i)),
    );
    await s.startPillowCli(name);
    await eventually(
      'docs written while stopped arrive',
      async () => (await count(`SELECT count(*) n FROM e2e_mirror WHERE id >= 'case-00001000'`)) === 30,
    );
    // the count arrives when the slice returns, a moment after its rows commit
    await eventually('the new run counted them', async () => (await s.status(name)).processed >= 30);
    const after = await s.status(name);
    assert.equal(after.processed, 30, 'the new run processed only what was new, nothing from zero');
    assert.equal(after.skipped, 0);
  });

  test('after a terminate (no chance to clean up) a new start resumes from the committed checkpoint', async () => {
    await eventually('caught up', async () => (await s.status(name)).status === 'idle');
    const before = await s.status(name);
    await s.temporalCli(['workflow', 'terminate', '--workflow-id', `pillow/${name}`, '--reason', 'test']);
    await writeDocs(
      s.couchUrl,
      db,
      Array.from({ length: 10 }, (_, i) => caseDoc(2000 + i)),
    );
    await s.startPillowCli(name);
    // answered at once, even before the new run has read its stored checkpoint
    assert.equal((await s.status(name)).name, name);
    await eventually(
      'new docs arrive',
      async () => (await count(`SELECT count(*) n FROM e2e_mirror WHERE id >= 'case-00002000'`)) === 10,
    );
    const after = await s.status(name);
    // the terminated run's last batch may still have committed a new doc (and its checkpoint)
    // before its activity learned the workflow was gone; the new run then starts after it
    assert.ok(
      after.processed <= 10,
      `resumed at or after ${before.checkpoint}, not from zero (processed ${after.processed})`,
    );
    assert.equal(await count('SELECT count(*) n FROM e2e_mirror'), 160);
  });
});
