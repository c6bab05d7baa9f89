"""The ``say`` action (``gesture_msgs/action/Say``) on the speech source node.

:class:`SayActionServer` accepts goals whose text is valid, has the node speak each one (queued like
a ``speech/say`` text), sends the word being spoken as feedback, and answers with a result once the
robot is back at rest; a cancel request stops the speech (the node publishes the utterance's
``cancel`` event) and is answered once the retargeter's rest command has ended. The bookkeeping is
:class:`gesture_core.speech.say.SayProgress`; this module is the ROS edge: it subscribes
``gesture/human_pose`` and ``joint_trajectory`` (decoded only while goals are active) and turns
progress into feedback and results.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from gesture_core import contracts as c
from gesture_core.errors import GestureError
from gesture_core.speech.say import SayProgress
from gesture_core.speech.schedule import Utterance
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.node import Node
from rclpy.task import Future

from .ros_io import guard, msg_class


@dataclass
class _Goal:
    handle: object
    progress: SayProgress
    done: Future


class SayActionServer:
    """Serve ``say`` on ``node``. ``speak(request)`` queues the request's utterance and returns it
    (raising :class:`GestureError` for a voice or rate it cannot use); ``cancel(utterance_id)``
    stops it; ``now()`` is the node's ROS time in ns."""

    def __init__(
        self,
        node: Node,
        speak: Callable[[c.SayRequest], Utterance],
        cancel: Callable[[str], None],
        now: Callable[[], int],
    ):
        self._node, self._speak, self._cancel, self._now = node, speak, cancel, now
        self._goals: dict[str, _Goal] = {}
        self._starts: deque[c.UtteranceEvent] = deque(
            maxlen=8
        )  # the node may start an utterance as it queues it
        self._Action = msg_class(c.SAY_ACTION.action_type)
        self._server = ActionServer(
            node,
            self._Action,
            c.SAY_ACTION.name,
            execute_callback=self._execute,
            goal_callback=guard(node, self._accept, "a say goal", lambda _goal: GoalResponse.REJECT),
            cancel_callback=lambda _handle: CancelResponse.ACCEPT,
        )
        for topic, handler in ((c.HUMAN_POSE, self._on_pose), (c.JOINT_TRAJECTORY, self._on_trajectory)):
            node.create_subscription(msg_class(topic), topic.name, handler, topic.depth)

    def _accept(self, goal: object) -> GoalResponse:
        try:
            c.decode_say_goal(goal)
        except GestureError as exc:
            self._node.get_logger().warning(f"rejected a say goal: {exc}")
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    async def _execute(self, handle: object) -> object:
        try:
            utt = self._speak(c.decode_say_goal(handle.request))
        except Exception as exc:  # GestureError: a voice or rate it cannot use; anything else: a bug
            why = str(exc) if isinstance(exc, GestureError) else f"internal error {type(exc).__name__}: {exc}"
            self._node.get_logger().error(f"say goal aborted: {why}")
            handle.abort()
            return self._Action.Result()
        goal = _Goal(handle, SayProgress(utt.utterance_id, list(utt.words or []), utt.audio.size), Future())
        self._goals[utt.utterance_id] = goal
        for ev in self._starts:
            if ev.utterance_id == utt.utterance_id:
                goal.progress.started(ev.start_ns)
        return await goal.done

    # -- what the node and the graph report ----------------------------------------------------------

    def started(self, ev: c.UtteranceEvent) -> None:
        """The node published the start event of ``ev.utterance_id``."""
        goal = self._goals.get(ev.utterance_id)
        if goal is not None:
            goal.progress.started(ev.start_ns)
        else:
            self._starts.append(ev)

    def _on_pose(self, msg: object) -> None:
        if self._goals:
            seq = c.decode_human_pose(msg)
            for goal in self._goals.values():
                goal.progress.on_gesture(seq)

    def _on_trajectory(self, msg: object) -> None:
        if self._goals:
            cmd = c.decode_joint_trajectory(msg)
            for goal in self._goals.values():
                goal.progress.on_trajectory(cmd)

    # -- the node's timer --------------------------------------------------------------------------

    def tick(self) -> None:
        """Cancel what the clients asked to cancel, send feedback, answer the goals that are over."""
        now = self._now()
        for uid, goal in list(self._goals.items()):
            progress = goal.progress
            if goal.handle.is_cancel_requested and progress.canceled_ns is None:
                progress.cancel(now)
                self._cancel(uid)
            fb = progress.feedback(now)
            # index -1: before the first word (the silence that prepares a first gesture): no word yet
            if fb is not None and fb.index >= 0 and progress.canceled_ns is None:
                words = len(progress.words)
                goal.handle.publish_feedback(
                    self._Action.Feedback(
                        utterance_id=uid, word=fb.word, word_index=fb.index, word_count=words,
                        progress=fb.progress,
                    )
                )  # fmt: skip
            if progress.finished(now):
                self._answer(uid, goal, now)

    def _answer(self, uid: str, goal: _Goal, now: int) -> None:
        r = goal.progress.result(now)
        result = self._Action.Result(
            utterance_id=uid, spoken_duration=r.spoken_duration, words_spoken=r.words_spoken,
            gesture_frames=r.gesture_frames, gesture_strokes=r.gesture_strokes, trajectories=r.trajectories,
            motion_duration=r.motion_duration,
        )  # fmt: skip
        if goal.progress.canceled_ns is not None:
            goal.handle.canceled()
        else:
            goal.handle.succeed()
        del self._goals[uid]
        goal.done.set_result(result)
        self._node.get_logger().info(
            f"say {uid}: {'canceled' if goal.progress.canceled_ns is not None else 'done'}, "
            f"{r.spoken_duration:.2f} s spoken, {r.words_spoken} words, {r.gesture_frames} gesture frames, "
            f"{r.trajectories} trajectories, at rest {r.motion_duration:.2f} s after the start"
        )

    def destroy(self) -> None:
        self._server.destroy()
