import { tf } from '@patchwork/tensor';
import { squares, tinyVit } from '../testing/tiny-vit';
import { TaskPrototypeRouter } from './task-prototype-router';

describe('TaskPrototypeRouter', () => {
  const model = tinyVit(3);
  afterAll(() => model.dispose());

  // Two tasks over disjoint classes (squares in the top rows vs the bottom rows), labelled 0..k-1
  // each, as two independently trained adapters would be.
  const taskA = squares([0, 1, 2, 3], 12, 1);
  const taskB = squares([12, 13, 14, 15], 12, 2);
  const local = (labels: Int32Array, first: number) => Int32Array.from(labels, (y) => y - first);
  const tasks = [
    { adapterId: 'adapter-a', images: taskA.inputs, labels: local(taskA.labels, 0) },
    { adapterId: 'adapter-b', images: taskB.inputs, labels: local(taskB.labels, 12) },
  ];

  it("routes each task's unseen images to that task's adapter", () => {
    const before = tf.memory().numTensors;
    const router = TaskPrototypeRouter.build(model, tasks);
    const heldA = squares([0, 1, 2, 3], 5, 9).inputs;
    const heldB = squares([12, 13, 14, 15], 5, 10).inputs;
    const routedA = heldA.map((img) => router.rank([img])[0].adapterId);
    const routedB = heldB.map((img) => router.rank([img])[0].adapterId);
    expect(routedA.filter((id) => id === 'adapter-a').length).toBeGreaterThanOrEqual(18);
    expect(routedB.filter((id) => id === 'adapter-b').length).toBeGreaterThanOrEqual(18);
    // A mixed request goes where most of its images vote, and every adapter is ranked.
    const ranked = router.rank([...heldB.slice(0, 15), ...heldA.slice(0, 5)]);
    expect(ranked.map((r) => r.adapterId)).toEqual(['adapter-b', 'adapter-a']);
    expect(ranked[0].votes + ranked[1].votes).toBe(20);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses fewer than two adapters, duplicate ids and mismatched labels', () => {
    expect(() => TaskPrototypeRouter.build(model, tasks.slice(0, 1))).toThrow(/at least two/);
    expect(() => TaskPrototypeRouter.build(model, [tasks[0], { ...tasks[1], adapterId: 'adapter-a' }])).toThrow(/twice/);
    expect(() => TaskPrototypeRouter.build(model, [tasks[0], { ...tasks[1], labels: tasks[1].labels.slice(1) }])).toThrow(/tasks\[1\]\.labels/);
  });
});
